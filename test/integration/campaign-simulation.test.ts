/**
 * A two-week campaign, simulated (issue 10): the real campaign, group and
 * mailbox workflows and the real activities on real PostgreSQL and a real
 * SMTP server, with time compressed by the time-skipping test server.
 *
 * 100 mailboxes at the import defaults (50 a day, 10 an hour, 72 s apart
 * with 30% jitter, Mon–Fri 09:00–17:00, warm-up 5 + 3 a day), half in
 * Berlin and half in New York, a two-step sequence (follow-up after 2 days)
 * over 1,200 leads, starting on a Thursday: the warm-up cap binds on the
 * first day, the follow-ups of Thursday and Friday fall due over the weekend
 * and go out on Monday, 12 a mailbox, where the hourly cap binds. The clock
 * then runs on to day 14.
 *
 * Asserted on what was recorded (sends rows, the SMTP server's messages,
 * the workflows' histories): every lead got each step once; every slot is
 * inside its mailbox's window in its zone; no mailbox passed its warm-up
 * cap on any local day, 10 in any hour, or sent two slots closer than 72 s;
 * every run stayed under 10,000 events; a night and a weekend cost each
 * mailbox a small number of events, the same whatever the wait's length.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { msToNumber, tsToMs } from '@temporalio/common/lib/time';
import type { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { createActivities } from '../../activities';
import { ProviderRegistry } from '../../activities/providers/registry';
import { importMailboxes } from '../../services/mailbox-import';
import { DEFAULT_LIMITS, DEFAULT_WARMUP_RAMP, DEFAULT_WINDOW } from '../../workflows/policy/defaults';
import { policySettingsOf, startMailboxWorkflows } from '../../services/mailbox';
import { SecretBox } from '../../core/crypto';
import { createLogger } from '../../core/logger';
import { createPool } from '../../db/pool';
import { createCampaign, transitionCampaign } from '../../db/repositories/campaigns';
import { createClient } from '../../db/repositories/clients';
import { insertLeads } from '../../db/repositories/leads';
import { createProviderAccount } from '../../db/repositories/providers';
import { createTemplate } from '../../db/repositories/templates';
import { campaignWorkflow } from '../../workflows/campaign.workflow';
import { campaignWorkflowId, mailboxWorkflowId } from '../../workflows/ids';
import {
  DAY_MS,
  HOUR_MS,
  dailyCap,
  isInsideWindow,
  localDateTime,
  localTimeToEpoch,
  type MailboxPolicySettings,
} from '../../workflows/policy';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { GROUP_MAX_EVENTS } from '../../workflows/campaign-group.workflow';
import { DEFAULT_MAX_HISTORY_PER_RUN } from '../../workflows/mailbox.workflow';
import { LONG_RUN_TASK_TIMEOUT } from '../../workflows/run-limits';
import { startDnsServer } from '../fakes/dns-server';
import { SmtpSink } from '../fakes/smtp-sink';
import { testEnv } from '../helpers/test-env';
import { verifyDomainsInDb, type DnsZone } from '../helpers/verified-domains';
import { createTimeSkippingEnv, timeSkippingDataConverter } from '../helpers/time-skipping';

const MAILBOXES = 100;
const LEADS = 1_200;
const ZONES = ['Europe/Berlin', 'America/New_York'] as const;
const FOLLOW_UP_DAYS = 2;
const SIMULATED_DAYS = 14;
/** Wall time the simulated campaign may take before the test gives up on it. */
const CAMPAIGN_WALL_MAX_MS = 15 * 60_000;
/** Most events a mailbox (its lane's share of its group, and its own workflow) may add over one closed night or weekend. */
const QUIET_EVENTS_PER_MAILBOX_MAX = 20;

type History = temporal.api.history.v1.IHistory;
type Event = temporal.api.history.v1.IHistoryEvent;

describe('a two-week campaign over 100 mailboxes, simulated on the time-skipping server', () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  let pool: Pool;
  let providers: ProviderRegistry;
  let sink: SmtpSink;
  const zone: DnsZone = new Map();
  let dns: Awaited<ReturnType<typeof startDnsServer>>;
  /** The client proves control of its mailboxes' domains (the verify route's proof, on a local DNS server). */
  const verified = async <T extends { address: string }>(clientId: string, rows: T[]): Promise<T[]> => {
    await verifyDomainsInDb({ pool, temporal: env.client }, { zone, address: dns.address }, clientId, rows.map((r) => r.address));
    return rows;
  };
  const taskQueue = `simulation-${randomUUID()}`;
  const box = new SecretBox(randomBytes(32).toString('base64'));

  beforeAll(async () => {
    env = await createTimeSkippingEnv();
    await env.connection.operatorService.addSearchAttributes({
      namespace: env.namespace ?? 'default',
      searchAttributes: Object.fromEntries(Object.keys(SEARCH_ATTRIBUTES).map((k) => [k, 2 /* KEYWORD */])),
    });
    sink = await new SmtpSink().start();
    dns = await startDnsServer(zone);
    pool = createPool(testEnv('databaseUrl'), 10);
    providers = new ProviderRegistry(pool, box);
    worker = await Worker.create({
      connection: env.nativeConnection,
      ...timeSkippingDataConverter,
      taskQueue,
      workflowBundle: { codePath: testEnv('workflowBundle') },
      activities: createActivities({
        pool,
        providers,
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
    await providers?.closeAll();
    await pool?.end();
    await sink?.stop();
    await dns?.close();
    await env?.teardown();
  });

  it('sends every step once, inside every window and under every cap, with bounded histories and quiet nights', async () => {
    // The defaults (the import's and the policy's, one set) are the scenario (issue 10): keep the test honest if they change.
    expect(DEFAULT_LIMITS).toEqual({ dailyMax: 50, hourlyMax: 10, minIntervalSeconds: 72, jitterRatio: 0.3 });
    expect(DEFAULT_WARMUP_RAMP).toEqual({ startPerDay: 5, increasePerDay: 3, maxPerDay: 50 });

    // Day 0: the next Thursday, 07:00 UTC (before either zone opens).
    const serverNow = await env.currentTimeMs();
    const start = nextWeekdayAtUtc(serverNow, 4 /* Thursday */, 7);
    await env.sleep(start - serverNow);
    const t0 = await env.currentTimeMs();
    expect(t0).toBeGreaterThanOrEqual(start);

    // Data through the repositories and the import path the API uses.
    const tag = randomUUID().slice(0, 8);
    const client = await createClient(pool, { name: `sim-${tag}`, physicalAddress: '1 Main St, Springfield' });
    const provider = await createProviderAccount(pool, box, {
      name: `smtp-${tag}`, kind: 'smtp', config: { host: '127.0.0.1', port: sink.port, secure: false, requireTls: false },
    });
    const poolName = `sim-${tag}`;
    const imported = await importMailboxes(
      pool,
      client.id,
      await verified(client.id, Array.from({ length: MAILBOXES }, (_, i) => ({
        address: `s${i}-${tag}@send${i % 4}-${tag}.sim.example.com`,
        pool: poolName,
        providers: [provider.name],
        timezone: ZONES[i % ZONES.length],
      }))),
      { timezone: 'UTC' },
      new Date(t0), // the warm-up starts on the simulation's first day
    );
    expect(imported.errors).toEqual([]);
    const mailboxes = imported.inserted;
    expect(mailboxes).toHaveLength(MAILBOXES);
    for (const m of mailboxes) {
      expect(m.window).toEqual(DEFAULT_WINDOW);
      expect(m.warmup?.startedOn).toBe(localDate(t0, m.timezone));
    }
    expect(await startMailboxWorkflows(env.client, taskQueue, mailboxes)).toEqual([]);

    const template = await createTemplate(pool, client.id, {
      name: 't', subject: 'Hello {{firstName|there}}', text: 'Hi {{firstName|there}}, a short note.\nUnsubscribe: {{unsubscribeUrl}}',
    });
    const campaign = await createCampaign(pool, client.id, {
      name: `sim-${tag}`,
      steps: [{ templateId: template.id, delayDays: 0 }, { templateId: template.id, delayDays: FOLLOW_UP_DAYS }],
      mailboxes: { pool: poolName },
    });
    const emails = Array.from({ length: LEADS }, (_, i) => `lead${i}-${tag}@leads.example.org`);
    expect((await insertLeads(pool, client.id, campaign.id, emails.map((email, i) => ({ email, vars: { firstName: `L${i}` } })))).accepted).toBe(LEADS);
    expect(await transitionCampaign(pool, client.id, campaign.id, ['draft'], 'running')).toBe(true);

    const wallStart = Date.now();
    const handle = await env.client.workflow.start(campaignWorkflow, {
      taskQueue,
      workflowId: campaignWorkflowId(campaign.id),
      args: [{ campaignId: campaign.id, clientId: client.id }],
    });
    // Time skips while the test waits for the result; a campaign that cannot finish fails here, not at jest's timeout.
    const result = await withinWallTime(handle.result(), CAMPAIGN_WALL_MAX_MS, 'the campaign workflow did not complete');
    const campaignWallMs = Date.now() - wallStart;
    const doneAt = await env.currentTimeMs();
    expect(result.status).toBe('completed');
    expect(result.sent).toBe(2 * LEADS);
    expect(result.failed).toBe(0);

    // The clock runs on to day 14: nothing more is sent, and the idle fleet adds nothing
    // (read an hour after the end, once the last outcome reports have been handled).
    const mailboxHandles = mailboxes.map((m) => env.client.workflow.getHandle(mailboxWorkflowId(m.address)));
    await env.sleep(HOUR_MS);
    const lengthsAtDone = await Promise.all(mailboxHandles.map(async (h) => (await h.describe()).historyLength));
    const endAt = t0 + SIMULATED_DAYS * DAY_MS;
    const settled = await env.currentTimeMs();
    if (endAt > settled) await env.sleep(endAt - settled);
    const lengthsAtEnd = await Promise.all(mailboxHandles.map(async (h) => (await h.describe()).historyLength));
    expect(lengthsAtEnd).toEqual(lengthsAtDone);

    // --- Sends: every lead each step exactly once, in the database and at the SMTP server.
    const { rows: sends } = await pool.query<{ lead_id: string; email: string; step: number; mailbox_id: string; status: string; slot_at: Date; sent_at: Date }>(
      `SELECT s.lead_id, l.email, s.step, s.mailbox_id, s.status, s.slot_at, s.sent_at
       FROM sends s JOIN leads l ON l.id = s.lead_id WHERE s.campaign_id = $1 ORDER BY s.slot_at`,
      [campaign.id],
    );
    expect(sends).toHaveLength(2 * LEADS);
    expect(sends.filter((s) => s.status !== 'sent')).toEqual([]);
    const stepsOf = new Map<string, number[]>();
    for (const s of sends) stepsOf.set(s.email, [...(stepsOf.get(s.email) ?? []), s.step]);
    expect(stepsOf.size).toBe(LEADS);
    for (const [email, steps] of stepsOf) expect({ email, steps: steps.sort() }).toEqual({ email, steps: [0, 1] });
    const received = new Map<string, number>();
    for (const m of sink.received) for (const to of m.to) received.set(to, (received.get(to) ?? 0) + 1);
    expect(sink.received).toHaveLength(2 * LEADS);
    expect(emails.filter((e) => received.get(e) !== 2)).toEqual([]);
    const { rows: leads } = await pool.query<{ status: string; n: number }>(
      'SELECT status, count(*)::int AS n FROM leads WHERE campaign_id = $1 GROUP BY status',
      [campaign.id],
    );
    expect(leads).toEqual([{ status: 'done', n: LEADS }]);

    // A follow-up goes out no sooner than its delay after the first step.
    const firstAt = new Map(sends.filter((s) => s.step === 0).map((s) => [s.lead_id, s.slot_at.getTime()]));
    for (const s of sends.filter((x) => x.step === 1)) expect(s.slot_at.getTime() - firstAt.get(s.lead_id)!).toBeGreaterThanOrEqual(FOLLOW_UP_DAYS * DAY_MS);

    // --- Windows and caps, per mailbox, read by the pure policy.
    const byMailbox = new Map<string, number[]>();
    for (const s of sends) byMailbox.set(s.mailbox_id, [...(byMailbox.get(s.mailbox_id) ?? []), s.slot_at.getTime()]);
    const settingsOf = new Map<string, MailboxPolicySettings>(mailboxes.map((m) => [m.id, policySettingsOf(m)]));
    const outside: string[] = [];
    const overDaily: string[] = [];
    let capReachedDays = 0;
    let maxPerHour = 0;
    let hourCapHits = 0;
    let minGapMs = Infinity;
    for (const [mailboxId, slots] of byMailbox) {
      const settings = settingsOf.get(mailboxId)!;
      slots.sort((a, b) => a - b);
      const perDay = new Map<string, number[]>();
      for (const at of slots) {
        if (!isInsideWindow(settings.window, settings.timezone, at)) outside.push(`${mailboxId} ${new Date(at).toISOString()} (${settings.timezone})`);
        const day = localDate(at, settings.timezone);
        perDay.set(day, [...(perDay.get(day) ?? []), at]);
      }
      for (const [day, list] of perDay) {
        const cap = dailyCap(settings, list[0]!);
        if (list.length > cap) overDaily.push(`${mailboxId} ${day}: ${list.length} > ${cap}`);
        if (list.length === cap) capReachedDays++;
      }
      for (let i = 0; i < slots.length; i++) {
        // Slots in (slot - 1 h, slot]: what countSentThisHour counts at that instant.
        let n = 0;
        for (let j = i; j >= 0 && slots[j]! > slots[i]! - HOUR_MS; j--) n++;
        maxPerHour = Math.max(maxPerHour, n);
        if (n === settings.limits.hourlyMax) hourCapHits++;
        if (i > 0) minGapMs = Math.min(minGapMs, slots[i]! - slots[i - 1]!);
      }
    }
    expect(outside).toEqual([]);
    expect(overDaily).toEqual([]);
    expect(maxPerHour).toBeLessThanOrEqual(DEFAULT_LIMITS.hourlyMax);
    expect(minGapMs).toBeGreaterThanOrEqual(DEFAULT_LIMITS.minIntervalSeconds * 1000);
    // The scenario does exercise the caps: day 0's warm-up cap everywhere, and the hourly cap on Monday.
    expect(capReachedDays).toBeGreaterThanOrEqual(MAILBOXES);
    expect(hourCapHits).toBeGreaterThan(0);

    // --- Histories: every run of every workflow under 10,000 events.
    const campaignRuns = await runsOf(env, campaignWorkflowId(campaign.id), handle.firstExecutionRunId);
    const groupIds = [...new Set(campaignRuns.flatMap((r) => events(r).flatMap((e) => {
      const id = e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
      return id ? [id] : [];
    })))];
    expect(groupIds.length).toBeGreaterThanOrEqual(MAILBOXES / 25);
    const groupRuns = (await Promise.all(groupIds.map((id) => runsOf(env, id)))).flat();
    const mailboxRuns = (await Promise.all(mailboxes.map((m) => runsOf(env, mailboxWorkflowId(m.address))))).flat();
    const all = [...campaignRuns, ...groupRuns, ...mailboxRuns];
    const longest = Math.max(...all.map((h) => events(h).length));
    expect(longest).toBeLessThan(10_000);
    // Short enough that a worker which lost a run from its cache replays it well inside the task timeout:
    // a group stops at GROUP_MAX_EVENTS plus what its lanes finish on the way out, a mailbox at its cap plus one message.
    const longestGroup = Math.max(...groupRuns.map((h) => events(h).length));
    const longestMailbox = Math.max(...mailboxRuns.map((h) => events(h).length));
    expect(longestGroup).toBeLessThanOrEqual(GROUP_MAX_EVENTS + 300);
    expect(longestMailbox).toBeLessThanOrEqual(DEFAULT_MAX_HISTORY_PER_RUN + 20);
    expect(groupRuns.length).toBeGreaterThan(groupIds.length); // the groups did continue as new
    // ... without waking a sleeping lane: its sleep is carried to the next run, no timer is cancelled (nothing here pauses or wakes).
    expect(groupRuns.flatMap((h) => events(h).filter((e) => e.timerCanceledEventAttributes))).toEqual([]);
    // Every run of both, first and continued, gives a worker LONG_RUN_TASK_TIMEOUT (not the default 10 s) for a task.
    const taskTimeouts = new Set([...groupRuns, ...mailboxRuns].map((h) =>
      tsToMs(events(h)[0]!.workflowExecutionStartedEventAttributes!.workflowTaskTimeout)));
    expect([...taskTimeouts]).toEqual([msToNumber(LONG_RUN_TASK_TIMEOUT)]);

    // --- Quiet periods: every mailbox closed (New York closes last, Berlin opens first).
    const quiet = quietPeriods(t0, doneAt);
    const nights = quiet.filter((q) => q.kind === 'night');
    const weekends = quiet.filter((q) => q.kind === 'weekend');
    expect(nights.length).toBeGreaterThanOrEqual(1);
    expect(weekends.length).toBeGreaterThanOrEqual(1);
    const laneEvents = (q: QuietPeriod) => countEvents(groupRuns, q) / MAILBOXES;
    const ownEvents = (q: QuietPeriod) => countEvents(mailboxRuns, q) / MAILBOXES;
    const campaignEvents = (q: QuietPeriod) => countEvents(campaignRuns, q);
    const figures = quiet.map((q) => ({
      kind: q.kind,
      from: new Date(q.from).toISOString(),
      hours: (q.to - q.from) / HOUR_MS,
      groupEventsPerMailbox: laneEvents(q),
      mailboxEventsPerMailbox: ownEvents(q),
      campaignEvents: campaignEvents(q),
      laneActivitiesPerMailbox: countEvents(groupRuns, q, (e) => !!e.activityTaskScheduledEventAttributes) / MAILBOXES,
    }));
    for (const f of figures) {
      expect({ ...f, within: f.groupEventsPerMailbox + f.mailboxEventsPerMailbox <= QUIET_EVENTS_PER_MAILBOX_MAX }).toEqual({ ...f, within: true });
      expect(f.campaignEvents).toBe(0);
    }
    // Not in proportion to the wait: the same bound holds for 10 hours and for 58, and a lane wakes at most
    // twice in either (to ask its mailbox before it opens; over the weekend a New York lane also wakes once
    // when its follow-ups fall due on Saturday, asks, gives its unsent new leads back and sleeps until Monday).
    for (const f of figures) expect({ ...f, wakesOk: f.laneActivitiesPerMailbox <= 2 }).toEqual({ ...f, wakesOk: true });

    // Temporal actions per sent email at real pacing, counted where each is recorded (a signal where it lands):
    // run starts (continue-as-new included), activities, timers, signals, Updates, child starts, markers, search-attribute upserts.
    // The mailbox workflows' own starts are paid once at import, not per email, and are left out.
    const actionKinds = (e: Event) =>
      !!(e.activityTaskScheduledEventAttributes || e.timerStartedEventAttributes || e.workflowExecutionSignaledEventAttributes ||
        e.workflowExecutionUpdateAcceptedEventAttributes || e.startChildWorkflowExecutionInitiatedEventAttributes ||
        e.markerRecordedEventAttributes || e.upsertWorkflowSearchAttributesEventAttributes);
    const runStarts = campaignRuns.length + groupRuns.length + (mailboxRuns.length - MAILBOXES);
    const actions = runStarts + all.reduce((n, h) => n + events(h).filter(actionKinds).length, 0);
    const actionsPerEmail = actions / sends.length;
    expect(actionsPerEmail).toBeLessThanOrEqual(6);

    // The figures, for the record (README, issue 10).
    const sentAtLag = Math.max(...sends.map((s) => s.sent_at.getTime() - s.slot_at.getTime()));
    process.stdout.write(`${JSON.stringify({
      mailboxes: MAILBOXES,
      leads: LEADS,
      sends: sends.length,
      simulatedDaysToComplete: (doneAt - t0) / DAY_MS,
      campaignWallMs,
      capReachedDays,
      hourCapHits,
      maxPerHour,
      minGapSeconds: minGapMs / 1000,
      maxSentAtMinusSlotMs: sentAtLag,
      runs: { campaign: campaignRuns.length, groups: groupRuns.length, mailboxes: mailboxRuns.length },
      longestRunEvents: longest,
      longestGroupRunEvents: longestGroup,
      longestMailboxRunEvents: longestMailbox,
      actionsPerEmail,
      quiet: figures,
    }, null, 2)}\n`);
  }, 20 * 60_000);

  it('limits.newLeadsPerDay holds over simulated days: the day\'s allowance of first steps, no more, day after day', async () => {
    const LIMIT = 12;
    const N_LEADS = 48;
    // The next Monday, 07:00 UTC: four weekdays of 12 use up 48 leads.
    const serverNow = await env.currentTimeMs();
    const start = nextWeekdayAtUtc(serverNow, 1 /* Monday */, 7);
    await env.sleep(start - serverNow);
    const t0 = await env.currentTimeMs();
    const tag = randomUUID().slice(0, 8);
    const client = await createClient(pool, { name: `simq-${tag}`, physicalAddress: '1 Main St, Springfield' });
    const provider = await createProviderAccount(pool, box, {
      name: `smtpq-${tag}`, kind: 'smtp', config: { host: '127.0.0.1', port: sink.port, secure: false, requireTls: false },
    });
    const poolName = `simq-${tag}`;
    // Ten warmed-up mailboxes in UTC: 50 a day each, so only the campaign's limit binds.
    const imported = await importMailboxes(
      pool,
      client.id,
      await verified(client.id, Array.from({ length: 10 }, (_, i) => ({ address: `q${i}-${tag}@sendq-${tag}.sim.example.com`, pool: poolName, providers: [provider.name], timezone: 'UTC', warmup: null }))),
      { timezone: 'UTC' },
      new Date(t0),
    );
    expect(imported.errors).toEqual([]);
    expect(await startMailboxWorkflows(env.client, taskQueue, imported.inserted)).toEqual([]);
    const template = await createTemplate(pool, client.id, { name: 't', subject: 'Hello', text: 'Hi, a short note.\nUnsubscribe: {{unsubscribeUrl}}' });
    const campaign = await createCampaign(pool, client.id, {
      name: `simq-${tag}`,
      steps: [{ templateId: template.id, delayDays: 0 }],
      mailboxes: { pool: poolName },
      timezone: 'UTC',
      limits: { newLeadsPerDay: LIMIT },
    });
    const emails = Array.from({ length: N_LEADS }, (_, i) => `q${i}-${tag}@leads.example.org`);
    expect((await insertLeads(pool, client.id, campaign.id, emails.map((email) => ({ email, vars: {} })))).accepted).toBe(N_LEADS);
    expect(await transitionCampaign(pool, client.id, campaign.id, ['draft'], 'running')).toBe(true);
    const handle = await env.client.workflow.start(campaignWorkflow, {
      taskQueue,
      workflowId: campaignWorkflowId(campaign.id),
      args: [{ campaignId: campaign.id, clientId: client.id }],
    });
    const result = await withinWallTime(handle.result(), CAMPAIGN_WALL_MAX_MS, 'the limited campaign did not complete');
    expect(result).toMatchObject({ status: 'completed', sent: N_LEADS, failed: 0 });

    const { rows } = await pool.query<{ day: string; n: number }>(
      `SELECT to_char(slot_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*)::int AS n
       FROM sends WHERE campaign_id = $1 AND step = 0 AND status = 'sent' GROUP BY 1 ORDER BY 1`,
      [campaign.id],
    );
    const days = [0, 1, 2, 3].map((d) => new Date(t0 + d * DAY_MS).toISOString().slice(0, 10));
    expect(rows).toEqual(days.map((day) => ({ day, n: LIMIT })));
    const { rows: once } = await pool.query<{ n: number }>('SELECT count(DISTINCT lead_id)::int AS n FROM sends WHERE campaign_id = $1', [campaign.id]);
    expect(once[0]!.n).toBe(N_LEADS);
  }, 10 * 60_000);
});

async function withinWallTime<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} in ${ms / 1000} s of wall time`)), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

function nextWeekdayAtUtc(fromMs: number, weekday: number /* 0 Sunday */, hourUtc: number): number {
  const d = new Date(fromMs);
  const base = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), hourUtc);
  for (let i = 1; i <= 8; i++) {
    const t = base + i * DAY_MS;
    if (new Date(t).getUTCDay() === weekday) return t;
  }
  throw new Error('unreachable');
}

function localDate(ms: number, timezone: string): string {
  const d = localDateTime(ms, timezone);
  return `${d.year}-${String(d.month).padStart(2, '0')}-${String(d.day).padStart(2, '0')}`;
}

interface QuietPeriod {
  kind: 'night' | 'weekend';
  from: number;
  to: number;
}

/**
 * The spans between t0 and end when no mailbox's window is open: from New
 * York's 17:00 (the last to close) to Berlin's next working day's 09:00 (the
 * first to open). Over a weekend: Friday's close to Monday's opening.
 */
function quietPeriods(t0: number, end: number): QuietPeriod[] {
  const out: QuietPeriod[] = [];
  for (let day = 0; day < SIMULATED_DAYS; day++) {
    const at = t0 + day * DAY_MS;
    const ny = localDateTime(at, 'America/New_York');
    if (ny.weekday > 4) continue; // 0 = Monday; only a working day closes
    const close = localTimeToEpoch('America/New_York', ny, 17 * 60);
    const gapDays = ny.weekday === 4 ? 3 : 1;
    const nextBerlin = localDateTime(close + gapDays * DAY_MS, 'Europe/Berlin');
    const open = localTimeToEpoch('Europe/Berlin', nextBerlin, 9 * 60);
    if (close >= t0 && open <= end) out.push({ kind: gapDays === 3 ? 'weekend' : 'night', from: close, to: open });
  }
  return out;
}

function events(h: History): Event[] {
  return h.events ?? [];
}

function countEvents(histories: History[], q: QuietPeriod, which: (e: Event) => boolean = () => true): number {
  let n = 0;
  for (const h of histories) {
    for (const e of events(h)) {
      const t = tsToMs(e.eventTime);
      if (t >= q.from && t < q.to && which(e)) n++;
    }
  }
  return n;
}

/** Every run of a workflow id, first to last, following continue-as-new. */
async function runsOf(env: TestWorkflowEnvironment, workflowId: string, firstRunId?: string): Promise<History[]> {
  let runId = firstRunId ?? (await firstRun(env, workflowId));
  const out: History[] = [];
  for (;;) {
    const history = await env.client.workflow.getHandle(workflowId, runId).fetchHistory();
    out.push(history);
    const last = events(history).at(-1);
    const next = last?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
    if (!next) return out;
    runId = next;
  }
}

async function firstRun(env: TestWorkflowEnvironment, workflowId: string): Promise<string> {
  const h: WorkflowHandle = env.client.workflow.getHandle(workflowId);
  const desc = await h.describe();
  // The latest run's history names the run it continued from; walk back to the first.
  let runId = desc.runId;
  for (;;) {
    const history = await env.client.workflow.getHandle(workflowId, runId).fetchHistory();
    const prev = events(history)[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
    if (!prev) return runId;
    runId = prev;
  }
}
