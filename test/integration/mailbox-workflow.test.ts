import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { createActivities } from '../../activities';
import { ProviderRegistry } from '../../activities/providers/registry';
import { SecretBox } from '../../core/crypto';
import { createLogger } from '../../core/logger';
import { createClient } from '../../db/repositories/clients';
import { insertMailboxes } from '../../db/repositories/mailboxes';
import { createProviderAccount } from '../../db/repositories/providers';
import { createPool } from '../../db/pool';
import { mailboxWorkflowId } from '../../workflows/ids';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import {
  mailboxWorkflow,
  pauseUpdate,
  reportOutcomeSignal,
  reserveSlotUpdate,
  resumeUpdate,
  stateQuery,
  updateSettingsUpdate,
  type MailboxWorkflowInput,
} from '../../workflows/mailbox.workflow';
import { localDateTime, warmupCap, type MailboxPolicySettings } from '../../workflows/policy';
import { createTimeSkippingEnv, timeSkippingDataConverter } from '../helpers/time-skipping';
import { testEnv } from '../helpers/test-env';

const DAY = 86_400_000;
let currentEnv: TestWorkflowEnvironment | undefined;

describe('mailbox workflow (time-skipping test server)', () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  let pool: Pool;
  const taskQueue = `mailbox-${randomUUID()}`;

  beforeAll(async () => {
    env = await createTimeSkippingEnv();
    currentEnv = env;
    await registerSearchAttributes(env);
    pool = createPool(testEnv('databaseUrl'), 3);
    const box = new SecretBox(randomBytes(32).toString('base64'));
    worker = await Worker.create({
      connection: env.nativeConnection,
      ...timeSkippingDataConverter,
      taskQueue,
      workflowsPath: require.resolve('../../workflows/index'),
      activities: createActivities({
        pool,
        providers: new ProviderRegistry(pool, box),
        logger: createLogger('silent'),
        clock: () => new Date(),
        client: env.client,
        publicBaseUrl: 'http://localhost',
        unsubscribeKey: randomBytes(32),
      }),
    });
    running = worker.run();
  });

  afterAll(async () => {
    worker?.shutdown();
    await running;
    await pool?.end();
    await env?.teardown();
  });

  const allWeek = { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as MailboxPolicySettings['window']['days'], start: '00:00', end: '24:00' };

  async function startMailbox(settings: MailboxPolicySettings, extra: Partial<MailboxWorkflowInput> = {}, mailboxId = randomUUID()) {
    const address = `mb-${randomUUID()}@send.example.com`;
    const handle = await env.client.workflow.start(mailboxWorkflow, {
      taskQueue,
      workflowId: mailboxWorkflowId(address),
      args: [{ mailboxId, address, settings, ...extra }],
    });
    return { address, handle };
  }

  it('warming up over 30 days, grants exactly the formula each day to three competing campaigns', async () => {
    const tz = 'Europe/Berlin';
    const now = await env.currentTimeMs();
    const today = localDateTime(now, tz);
    const startedOn = `${today.year}-${String(today.month).padStart(2, '0')}-${String(today.day).padStart(2, '0')}`;
    const warmup = { startPerDay: 5, increasePerDay: 3, maxPerDay: 50, startedOn };
    const settings: MailboxPolicySettings = {
      timezone: tz,
      window: allWeek,
      limits: { dailyMax: 50, hourlyMax: 20, minIntervalSeconds: 60, jitterRatio: 0.3 },
      warmup,
    };
    const { handle } = await startMailbox(settings);
    const until = now + 30 * DAY;
    const campaigns = ['a', 'b', 'c'].map((c) => `${c}-${randomUUID()}`);
    const results = await competeForSlots(handle, campaigns, until);
    const perDay = new Map<string, number>();
    for (const at of results.flat()) {
      const d = localDateTime(at, tz);
      const key = `${d.year}-${String(d.month).padStart(2, '0')}-${String(d.day).padStart(2, '0')}`;
      perDay.set(key, (perDay.get(key) ?? 0) + 1);
    }
    const days = [...perDay.keys()].sort();
    // Day 0 starts mid-day and the last day is cut off by `until`: compare the full days in between.
    const full = days.slice(1, -1);
    expect(full.length).toBeGreaterThanOrEqual(28);
    full.forEach((key) => {
      const dayIndex = days.indexOf(key);
      expect({ day: key, sent: perDay.get(key) }).toEqual({ day: key, sent: Math.min(50, warmupCap(warmup, dayIndex)) });
    });
    // Fair between campaigns: each got close to a third.
    const total = results.flat().length;
    for (const r of results) expect(r.length).toBeGreaterThan(total / 3 - total * 0.05);
    // No two sends closer than the minimum interval.
    const all = results.flat().sort((x, y) => x - y);
    for (let i = 1; i < all.length; i++) expect(all[i]! - all[i - 1]!).toBeGreaterThanOrEqual(60_000);
    // It continued as new along the way (well over 1,000 messages) and is still serving.
    const desc = await handle.describe();
    expect(desc.runId).not.toBe(handle.firstExecutionRunId);
    expect((await handle.query(stateQuery)).status).toBe('active');
  }, 600_000); // about 40 s on a quiet machine; the limit only guards against a hang

  it('pause stops grants at once, resume restarts them, and the status reaches Postgres', async () => {
    const client = await createClient(pool, { name: 'pause-test' });
    const provider = await createProviderAccount(pool, new SecretBox(randomBytes(32).toString('base64')), {
      name: `p-${randomUUID()}`, kind: 'smtp', config: { host: 'localhost', port: 25, secure: false, requireTls: false },
    });
    const settings: MailboxPolicySettings = {
      timezone: 'UTC', window: allWeek, warmup: null,
      limits: { dailyMax: 100, hourlyMax: 50, minIntervalSeconds: 30, jitterRatio: 0 },
    };
    const address = `pause-${randomUUID()}@send.example.com`;
    const { inserted } = await insertMailboxes(pool, [{
      clientId: client.id, address, displayName: null, pool: 'p', providerIds: [provider.id], timezone: 'UTC',
      window: settings.window, limits: settings.limits, warmup: null,
    }]);
    const mailboxId = inserted[0]!.id;
    const handle = await env.client.workflow.start(mailboxWorkflow, {
      taskQueue, workflowId: mailboxWorkflowId(address), args: [{ mailboxId, address, settings }],
    });
    const first = await handle.executeUpdate(reserveSlotUpdate, { args: [{ requestId: 'r1', campaignId: 'c1' }] });
    expect(first.granted).toBe(true);

    const paused = await handle.executeUpdate(pauseUpdate, { args: [{ reason: 'owner asked' }] });
    expect(paused.status).toBe('paused');
    expect(paused.nextSlotAt).toBeNull();
    const denied = await handle.executeUpdate(reserveSlotUpdate, { args: [{ requestId: 'r2', campaignId: 'c2' }] });
    expect(denied).toEqual({ granted: false, retryAt: null, reason: 'paused' });
    await expectEventually(async () => (await pool.query('SELECT status FROM mailboxes WHERE id = $1', [mailboxId])).rows[0].status === 'paused');

    const resumed = await handle.executeUpdate(resumeUpdate, { args: [{}] });
    expect(resumed.status).toBe('active');
    const again = await handle.executeUpdate(reserveSlotUpdate, { args: [{ requestId: 'r3', campaignId: 'c2' }] });
    expect(again.granted).toBe(true);
    await expectEventually(async () => (await pool.query('SELECT status FROM mailboxes WHERE id = $1', [mailboxId])).rows[0].status === 'active');
  });

  /** A mailbox row in Postgres and its workflow, as an import makes them. */
  async function dbMailbox(settings: MailboxPolicySettings, extra: Partial<MailboxWorkflowInput> = {}) {
    const client = await createClient(pool, { name: `mb-${randomUUID()}` });
    const provider = await createProviderAccount(pool, new SecretBox(randomBytes(32).toString('base64')), {
      name: `p-${randomUUID()}`, kind: 'smtp', config: { host: 'localhost', port: 25, secure: false, requireTls: false },
    });
    const address = `db-${randomUUID()}@send.example.com`;
    const { inserted } = await insertMailboxes(pool, [{
      clientId: client.id, address, displayName: null, pool: 'p', providerIds: [provider.id], timezone: settings.timezone,
      window: settings.window, limits: settings.limits, warmup: settings.warmup,
    }]);
    const mailboxId = inserted[0]!.id;
    const handle = await env.client.workflow.start(mailboxWorkflow, {
      taskQueue, workflowId: mailboxWorkflowId(address), args: [{ mailboxId, address, settings, ...extra }],
    });
    return { mailboxId, handle };
  }

  const storedPauses = async (mailboxId: string) =>
    (await pool.query<{ status: string; pause_reasons: { kind: string }[] }>('SELECT status, pause_reasons FROM mailboxes WHERE id = $1', [mailboxId])).rows[0]!;

  it('holds a set of pause reasons: a rest ending leaves a hand pause, and only the empty set sends; Postgres mirrors the set', async () => {
    const settings: MailboxPolicySettings = {
      timezone: 'UTC', window: allWeek, warmup: null,
      limits: { dailyMax: 100, hourlyMax: 50, minIntervalSeconds: 0, jitterRatio: 0 },
    };
    const { mailboxId, handle } = await dbMailbox(settings);
    const t0 = await env.currentTimeMs();
    await handle.executeUpdate(pauseUpdate, { args: [{ kind: 'user', reason: 'owner asked' }] });
    const both = await handle.executeUpdate(pauseUpdate, { args: [{ kind: 'rest', reason: 'bounce rate', until: t0 + 3_600_000 }] });
    expect(both.pauses.map((p) => [p.kind, p.reason, p.until])).toEqual([
      ['user', 'owner asked', null],
      ['rest', 'bounce rate', new Date(t0 + 3_600_000).toISOString()],
    ]);
    expect(Date.parse(both.pauses[0]!.since)).toBeGreaterThanOrEqual(t0);
    await expectEventually(async () => JSON.stringify((await storedPauses(mailboxId)).pause_reasons.map((p) => p.kind)) === '["user","rest"]');

    // The rest ends: the owner's own pause stays, and nothing is granted.
    const afterRest = await handle.executeUpdate(resumeUpdate, { args: [{ kind: 'rest' }] });
    expect(afterRest.status).toBe('paused');
    expect(afterRest.pauses.map((p) => p.kind)).toEqual(['user']);
    const denied = await handle.executeUpdate(reserveSlotUpdate, { args: [{ requestId: 'p1', campaignId: 'c' }] });
    expect(denied).toEqual({ granted: false, retryAt: null, reason: 'paused' });
    await expectEventually(async () => {
      const row = await storedPauses(mailboxId);
      return row.status === 'paused' && JSON.stringify(row.pause_reasons.map((p) => p.kind)) === '["user"]';
    });

    // The owner resumes: the set is empty, it sends, and Postgres says so.
    const back = await handle.executeUpdate(resumeUpdate, { args: [{ kind: 'user' }] });
    expect(back).toMatchObject({ status: 'active', pauses: [] });
    expect((await handle.executeUpdate(reserveSlotUpdate, { args: [{ requestId: 'p2', campaignId: 'c' }] })).granted).toBe(true);
    await expectEventually(async () => {
      const row = await storedPauses(mailboxId);
      return row.status === 'active' && row.pause_reasons.length === 0;
    });
  });

  it('new settings by an Update keep the day\'s count: 3 sent of a 5/day cap, lowered to 4, and exactly 1 more goes out today', async () => {
    const settings: MailboxPolicySettings = {
      timezone: 'UTC', window: allWeek, warmup: null,
      limits: { dailyMax: 5, hourlyMax: 50, minIntervalSeconds: 0, jitterRatio: 0 },
      cooldown: { throttleBaseSeconds: 60 },
    };
    const { handle } = await dbMailbox(settings);
    // horizonMs 0: a slot only now, never a reservation for tomorrow (the day's count is what is under test).
    const send = async (id: string) => {
      const a = await handle.executeUpdate(reserveSlotUpdate, { args: [{ requestId: id, campaignId: 'c', horizonMs: 0 }] });
      if (a.granted) await handle.signal(reportOutcomeSignal, { requestId: id, outcome: 'sent' });
      return a;
    };
    for (const id of ['s1', 's2', 's3']) expect((await send(id)).granted).toBe(true);
    const before = await handle.query(stateQuery, await env.currentTimeMs());
    expect(before).toMatchObject({ sentToday: 3, dailyCap: 5 });

    // A reservation outstanding and a cooldown running when the settings change: both are kept.
    const held = await handle.executeUpdate(reserveSlotUpdate, { args: [{ requestId: 'h1', campaignId: 'other', horizonMs: 0 }] });
    expect(held.granted).toBe(true);
    const lowered = await handle.executeUpdate(updateSettingsUpdate, { args: [{ ...settings, limits: { ...settings.limits, dailyMax: 4 } }] });
    expect(lowered).toMatchObject({ dailyCap: 4, sentToday: 4, outstanding: 1 });
    await handle.signal(reportOutcomeSignal, { requestId: 'h1', outcome: 'skipped' }); // given back: 3 sent, room for 1
    expect(await handle.query(stateQuery, await env.currentTimeMs())).toMatchObject({ dailyCap: 4, sentToday: 3, outstanding: 0 });

    expect((await send('s4')).granted).toBe(true);
    const refused = await send('s5');
    expect(refused).toMatchObject({ granted: false, reason: 'beyond_horizon', blockedBy: 'daily_cap' });
    // Lowered below what was sent: stopped for the rest of the day, the count untouched.
    const below = await handle.executeUpdate(updateSettingsUpdate, { args: [{ ...settings, limits: { ...settings.limits, dailyMax: 2 } }] });
    expect(below).toMatchObject({ dailyCap: 2, sentToday: 4 });
    expect(await send('s6')).toMatchObject({ granted: false, reason: 'beyond_horizon', blockedBy: 'daily_cap' });
    // The next day: the new cap applies from a fresh count.
    await env.sleep(DAY);
    expect(await handle.query(stateQuery, await env.currentTimeMs())).toMatchObject({ dailyCap: 2, sentToday: 0 });
    expect((await send('d2')).granted).toBe(true);
  });

  it('continues as new while a status write is in flight and Updates keep coming, answering every one', async () => {
    const settings: MailboxPolicySettings = {
      timezone: 'UTC', window: allWeek, warmup: null,
      limits: { dailyMax: 1000, hourlyMax: 1000, minIntervalSeconds: 0, jitterRatio: 0 },
    };
    // A tiny message budget: the run wants to continue as new while the pause's write to Postgres is still running.
    const { mailboxId, handle } = await dbMailbox(settings, { maxEventsPerRun: 3 });
    const reserves = Array.from({ length: 12 }, (_, i) =>
      handle.executeUpdate(reserveSlotUpdate, { args: [{ requestId: `w${i}`, campaignId: `c${i}`, horizonMs: 0 }] }));
    const [paused, ...answers] = await Promise.all([
      handle.executeUpdate(pauseUpdate, { args: [{ kind: 'user', reason: 'mid-run' }] }),
      ...reserves,
    ]);
    expect(paused.status).toBe('paused');
    expect(answers).toHaveLength(12);
    const resumed = await handle.executeUpdate(resumeUpdate, { args: [{ kind: 'user' }] });
    expect(resumed.status).toBe('active');
    expect((await handle.describe()).runId).not.toBe(handle.firstExecutionRunId);
    await expectEventually(async () => (await storedPauses(mailboxId)).status === 'active');
  });

  it('carries new settings across continue-as-new', async () => {
    const settings: MailboxPolicySettings = {
      timezone: 'UTC', window: allWeek, warmup: null,
      limits: { dailyMax: 5, hourlyMax: 50, minIntervalSeconds: 0, jitterRatio: 0 },
    };
    const { handle } = await startMailbox(settings, { maxEventsPerRun: 2 });
    await handle.executeUpdate(updateSettingsUpdate, { args: [{ ...settings, limits: { ...settings.limits, dailyMax: 3 } }] });
    expect((await handle.executeUpdate(reserveSlotUpdate, { args: [{ requestId: 'x1', campaignId: 'c', horizonMs: 0 }] })).granted).toBe(true);
    await expectEventually(async () => (await handle.describe()).runId !== handle.firstExecutionRunId);
    expect(await handle.query(stateQuery, await env.currentTimeMs())).toMatchObject({ dailyCap: 3, sentToday: 1, outstanding: 1 });
  });

  it('refuses invalid settings in its validator and keeps the ones it has', async () => {
    const settings: MailboxPolicySettings = {
      timezone: 'UTC', window: allWeek, warmup: null,
      limits: { dailyMax: 5, hourlyMax: 50, minIntervalSeconds: 0, jitterRatio: 0 },
    };
    const { handle } = await startMailbox(settings);
    const refusal = (next: MailboxPolicySettings) =>
      handle.executeUpdate(updateSettingsUpdate, { args: [next] }).then(
        () => 'accepted',
        (err: Error) => `${err.message}: ${(err.cause as Error | undefined)?.message ?? ''}`,
      );
    expect(await refusal({ ...settings, timezone: 'Mars/Olympus' })).toMatch(/^Workflow Update failed: .*timezone: unknown time zone/);
    expect(await refusal({ ...settings, limits: { ...settings.limits, hourlyMax: 0 } })).toMatch(/limits\.hourlyMax/);
    expect(await handle.query(stateQuery, await env.currentTimeMs())).toMatchObject({ dailyCap: 5, status: 'active' });
    // A refused Update leaves no trace in the history (a validator runs before anything is written).
    const events = (await handle.fetchHistory()).events ?? [];
    expect(events.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes)).toHaveLength(0);
  });

  it('a throttle outcome cools the mailbox down and it recovers by itself', async () => {
    const settings: MailboxPolicySettings = {
      timezone: 'UTC', window: allWeek, warmup: null,
      limits: { dailyMax: 100, hourlyMax: 50, minIntervalSeconds: 10, jitterRatio: 0 },
      cooldown: { throttleBaseSeconds: 600 },
    };
    const { handle } = await startMailbox(settings);
    const g = await handle.executeUpdate(reserveSlotUpdate, { args: [{ requestId: 't1', campaignId: 'c' }] });
    expect(g.granted).toBe(true);
    const t0 = await env.currentTimeMs();
    await handle.signal(reportOutcomeSignal, { requestId: 't1', outcome: 'throttled' });
    const cooling = await handle.query(stateQuery, await env.currentTimeMs());
    expect(cooling.status).toBe('cooling_down');
    expect(Date.parse(cooling.cooldownUntil!)).toBeGreaterThanOrEqual(t0 + 600_000);
    const during = await handle.executeUpdate(reserveSlotUpdate, { args: [{ requestId: 't2', campaignId: 'c' }] });
    expect(during.granted && during.at >= Date.parse(cooling.cooldownUntil!)).toBe(true);
    await handle.signal(reportOutcomeSignal, { requestId: 't2', outcome: 'skipped' });

    await env.sleep(11 * 60_000);
    const after = await handle.query(stateQuery, await env.currentTimeMs());
    expect(after.status).toBe('active');
    expect(after.cooldownUntil).toBeNull();
    const next = await handle.executeUpdate(reserveSlotUpdate, { args: [{ requestId: 't3', campaignId: 'c' }] });
    expect(next.granted && next.at <= (await env.currentTimeMs()) + 1000).toBe(true);
  });

  it("judges no bounce itself: a burst of bounces and a complaint without the rule's verdict leave it sending; a verdict cools it", async () => {
    const settings: MailboxPolicySettings = {
      timezone: 'UTC', window: allWeek, warmup: null,
      limits: { dailyMax: 1000, hourlyMax: 500, minIntervalSeconds: 1, jitterRatio: 0 },
    };
    const { handle } = await startMailbox(settings);
    for (let i = 0; i < 8; i++) {
      const g = await handle.executeUpdate(reserveSlotUpdate, { args: [{ requestId: `s${i}`, campaignId: 'c' }] });
      expect(g.granted).toBe(true);
      await handle.signal(reportOutcomeSignal, { requestId: `s${i}`, outcome: 'sent' });
    }
    // Its old ring of 20 outcomes cooled it for 12 h here (2 bounces in 10), and for 24 h on any complaint.
    await handle.signal(reportOutcomeSignal, { requestId: 'feedback:ses:b1', outcome: 'bounced' });
    await handle.signal(reportOutcomeSignal, { requestId: 'feedback:ses:b2', outcome: 'bounced' });
    await handle.signal(reportOutcomeSignal, { requestId: 'feedback:ses:c1', outcome: 'complained' });
    const still = await handle.query(stateQuery, await env.currentTimeMs());
    expect(still).toMatchObject({ status: 'active', cooldownUntil: null });
    // Its next slot is only its pacing away (1 s after the 8 granted), not 12 h.
    const g = await handle.executeUpdate(reserveSlotUpdate, { args: [{ requestId: 's8', campaignId: 'c' }] });
    expect(g.granted && g.at <= (await env.currentTimeMs()) + 60_000).toBe(true);

    // The rule's verdict, carried by the report, is what cools it.
    const t0 = await env.currentTimeMs();
    await handle.signal(reportOutcomeSignal, { requestId: 'feedback:ses:b3', outcome: 'bounced', retryAfterMs: 12 * 3_600_000 });
    const cooling = await handle.query(stateQuery, await env.currentTimeMs());
    expect(cooling.status).toBe('cooling_down');
    expect(Date.parse(cooling.cooldownUntil!)).toBeGreaterThanOrEqual(t0 + 12 * 3_600_000);
  });

  it('continue-as-new (forced small) keeps all state and drops no reservation, even under concurrent requests', async () => {
    const settings: MailboxPolicySettings = {
      timezone: 'UTC', window: allWeek, warmup: null,
      limits: { dailyMax: 1000, hourlyMax: 500, minIntervalSeconds: 5, jitterRatio: 0.2 },
    };
    const { handle } = await startMailbox(settings, { maxEventsPerRun: 5 });
    const firstRun = handle.firstExecutionRunId;
    const answers = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        handle.executeUpdate(reserveSlotUpdate, { args: [{ requestId: `req-${i}`, campaignId: `camp-${i}` }] }),
      ),
    );
    expect(answers.every((a) => a.granted)).toBe(true);
    const times = answers.map((a) => (a.granted ? a.at : 0)).sort((x, y) => x - y);
    expect(new Set(times).size).toBe(24);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(5_000);

    const desc = await handle.describe();
    expect(desc.runId).not.toBe(firstRun);
    const state = await handle.query(stateQuery);
    expect(state.outstanding).toBe(24);
    // A retried request after continue-as-new gets its original slot back, not a new one.
    for (const i of [0, 11, 23]) {
      const again = await handle.executeUpdate(reserveSlotUpdate, { args: [{ requestId: `req-${i}`, campaignId: `camp-${i}` }] });
      expect(again).toEqual(answers[i]);
    }
    // The next new request still respects every earlier grant.
    const next = await handle.executeUpdate(reserveSlotUpdate, { args: [{ requestId: 'late', campaignId: 'late' }] });
    expect(next.granted && next.at >= times[23]! + 5_000).toBe(true);
  });

  it('continues as new when its run\'s history reaches the cap, however few messages it counted', async () => {
    const settings: MailboxPolicySettings = {
      timezone: 'UTC', window: allWeek, warmup: null,
      limits: { dailyMax: 1000, hourlyMax: 500, minIntervalSeconds: 1, jitterRatio: 0 },
    };
    // The message counter alone would carry this run to 1,000 messages; the history cap ends it near 40 events.
    const CAP = 40;
    const { handle } = await startMailbox(settings, { maxEventsPerRun: 1000, maxHistoryPerRun: CAP });
    const firstRun = env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId);
    let last = 0;
    let rounds = 0;
    // Rounds of one Update and one signal, one at a time, until the first run's history reaches the cap
    // (read after each round, so at most the round that crossed it lands past the cap).
    while ((await firstRun.describe()).historyLength < CAP) {
      const i = rounds++;
      const a = await handle.executeUpdate(reserveSlotUpdate, { args: [{ requestId: `h-${i}`, campaignId: 'c' }] });
      expect(a.granted).toBe(true);
      if (a.granted) last = a.at;
      await handle.signal(reportOutcomeSignal, { requestId: `h-${i}`, outcome: 'sent' });
      expect(rounds).toBeLessThan(CAP); // a round is several events: the cap comes long before this
    }
    await expectEventually(async () => (await handle.describe()).runId !== handle.firstExecutionRunId);
    const events = (await firstRun.fetchHistory()).events ?? [];
    expect(events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();
    // It stops at the first workflow task past the cap: the handlers of that task finish, then the run ends.
    // Past the cap: at most the crossing round (an Update's 5 events, a signal's 4) and the continue-as-new's task.
    expect(events.length).toBeLessThanOrEqual(CAP + 9 + 4);
    // The state crossed over: the next slot still keeps the interval after the last grant of the first run.
    const next = await handle.executeUpdate(reserveSlotUpdate, { args: [{ requestId: 'h-next', campaignId: 'c' }] });
    expect(next.granted && next.at >= last + 1_000).toBe(true);
  });
});

async function registerSearchAttributes(env: TestWorkflowEnvironment): Promise<void> {
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(Object.keys(SEARCH_ATTRIBUTES).map((k) => [k, 2 /* KEYWORD */])),
  });
}

/**
 * Three campaigns competing for one mailbox, driven from the test with the
 * server's clock locked except for explicit sleeps: each campaign asks
 * whenever it holds no slot, "sends" when its slot comes and reports it.
 */
async function competeForSlots(
  handle: WorkflowHandle<typeof mailboxWorkflow>,
  campaigns: string[],
  until: number,
): Promise<number[][]> {
  const env = currentEnv!;
  const granted = campaigns.map(() => [] as number[]);
  const held: ({ requestId: string; at: number } | null)[] = campaigns.map(() => null);
  const waitUntil: number[] = campaigns.map(() => 0);
  let seq = 0;
  for (;;) {
    let now = await env.currentTimeMs();
    if (now >= until) break;
    for (let i = 0; i < campaigns.length; i++) {
      if (held[i] || waitUntil[i]! > now) continue;
      const requestId = `${campaigns[i]}:${seq++}`;
      const answer = await handle.executeUpdate(reserveSlotUpdate, { args: [{ requestId, campaignId: campaigns[i]! }] });
      if (answer.granted) held[i] = { requestId, at: answer.at };
      else waitUntil[i] = answer.retryAt ?? now + 3_600_000;
    }
    const next = Math.min(...held.map((h, i) => (h ? h.at : waitUntil[i]!)));
    if (next > now) {
      await env.sleep(next - now);
      now = await env.currentTimeMs();
    }
    for (let i = 0; i < campaigns.length; i++) {
      const h = held[i];
      if (!h || h.at > now) continue;
      if (h.at < until) granted[i]!.push(h.at);
      await handle.signal(reportOutcomeSignal, { requestId: h.requestId, outcome: h.at < until ? 'sent' : 'skipped' });
      held[i] = null;
    }
  }
  return granted;
}

async function expectEventually(fn: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 100));
  }
}
