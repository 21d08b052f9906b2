/**
 * Reservations that carry a campaign's window (time-skipping test server):
 * slots fall inside both the mailbox's window and the request's, for that
 * request only; a window that can never open is refused at once.
 */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { createActivities } from '../../activities';
import { ProviderRegistry } from '../../activities/providers/registry';
import { SecretBox } from '../../core/crypto';
import { createLogger } from '../../core/logger';
import { createPool } from '../../db/pool';
import { mailboxWorkflowId } from '../../workflows/ids';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { mailboxWorkflow, reportOutcomeSignal, reserveSlotUpdate, stateQuery, type ReserveAnswer } from '../../workflows/mailbox.workflow';
import {
  isInsideWindow,
  localDateTime,
  nextWindowOpening,
  type MailboxPolicySettings,
  type SendingWindow,
  type WindowConstraint,
} from '../../workflows/policy';
import { createTimeSkippingEnv, timeSkippingDataConverter } from '../helpers/time-skipping';
import { testEnv } from '../helpers/test-env';

const EVERY_DAY: SendingWindow['days'] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const HOUR = 3_600_000;

describe('mailbox workflow: reservations bound by a campaign window', () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  let pool: Pool;
  const taskQueue = `mailbox-window-${randomUUID()}`;

  beforeAll(async () => {
    env = await createTimeSkippingEnv();
    await env.connection.operatorService.addSearchAttributes({
      namespace: env.namespace ?? 'default',
      searchAttributes: Object.fromEntries(Object.keys(SEARCH_ATTRIBUTES).map((k) => [k, 2 /* KEYWORD */])),
    });
    pool = createPool(testEnv('databaseUrl'), 2);
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

  async function startMailbox(settings: MailboxPolicySettings) {
    const address = `mb-${randomUUID()}@send.example.com`;
    return env.client.workflow.start(mailboxWorkflow, {
      taskQueue,
      workflowId: mailboxWorkflowId(address),
      // Two days of horizon: a slot hours ahead is granted, not "ask again later".
      args: [{ mailboxId: randomUUID(), address, settings, grantHorizonMs: 48 * HOUR }],
    });
  }

  /** A daily one-hour New York window opening 2 to 3 hours after `now` (past midnight: tomorrow's early hours). */
  function windowOpeningLater(now: number): WindowConstraint {
    const tz = 'America/New_York';
    const start = (localDateTime(now, tz).hour + 3) % 24;
    return { timezone: tz, window: { days: EVERY_DAY, start: `${String(start).padStart(2, '0')}:00`, end: `${String(start + 1).padStart(2, '0')}:00` } };
  }

  const granted = (a: ReserveAnswer) => {
    if (!a.granted) throw new Error(`not granted: ${JSON.stringify(a)}`);
    return a;
  };

  it('grants a windowed request no earlier than the window opens, inside it, batch included; other requests are not bound by it', async () => {
    const handle = await startMailbox({
      timezone: 'UTC',
      window: { days: EVERY_DAY, start: '00:00', end: '24:00' },
      warmup: null,
      limits: { dailyMax: 100, hourlyMax: 50, minIntervalSeconds: 60, jitterRatio: 0 },
    });
    const now = await env.currentTimeMs();
    const campaignWindow = windowOpeningLater(now);
    const opening = nextWindowOpening(campaignWindow.window, campaignWindow.timezone, now)!;
    expect(opening - now).toBeGreaterThan(HOUR);

    // A request without a window is served now: the campaign window binds only the requests that carry it.
    const plain = granted(await handle.executeUpdate(reserveSlotUpdate, { args: [{ requestId: `p-${randomUUID()}`, campaignId: 'plain' }] }));
    expect(plain.at).toBeLessThan(now + 60_000);
    expect(isInsideWindow(campaignWindow.window, campaignWindow.timezone, plain.at)).toBe(false);

    const answer = granted(
      await handle.executeUpdate(reserveSlotUpdate, {
        args: [{ requestId: `w-${randomUUID()}`, campaignId: 'windowed', count: 3, withinMs: HOUR, window: campaignWindow }],
      }),
    );
    expect(answer.at).toBeGreaterThanOrEqual(opening);
    expect(answer.at).toBeLessThan(opening + 1000); // nothing else blocks: the opening itself
    expect(answer.slots).toHaveLength(3);
    for (const s of answer.slots!) {
      expect(s.at).toBeGreaterThanOrEqual(opening);
      expect(isInsideWindow(campaignWindow.window, campaignWindow.timezone, s.at)).toBe(true);
    }

    // Time passes to the opening; the slot is used there.
    await env.sleep(answer.at - (await env.currentTimeMs()));
    await handle.signal(reportOutcomeSignal, { requestId: answer.requestId, outcome: 'sent' });
    expect((await handle.query(stateQuery, await env.currentTimeMs())).sentToday).toBeGreaterThanOrEqual(1);
  });

  it('refuses at once, with retryAt null and reason campaign_window, a window that can never open for this mailbox', async () => {
    const handle = await startMailbox({
      timezone: 'UTC',
      window: { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' },
      warmup: null,
      limits: { dailyMax: 100, hourlyMax: 50, minIntervalSeconds: 60, jitterRatio: 0 },
    });
    const weekend: WindowConstraint = { timezone: 'UTC', window: { days: ['sat', 'sun'], start: '00:00', end: '24:00' } };
    const answer = await handle.executeUpdate(reserveSlotUpdate, { args: [{ requestId: `n-${randomUUID()}`, campaignId: 'c', window: weekend }] });
    expect(answer).toEqual({ granted: false, retryAt: null, reason: 'campaign_window' });
    expect((await handle.query(stateQuery)).outstanding).toBe(0);
  });

  it('rejects an invalid window in the validator; the mailbox keeps serving', async () => {
    const handle = await startMailbox({
      timezone: 'UTC',
      window: { days: EVERY_DAY, start: '00:00', end: '24:00' },
      warmup: null,
      limits: { dailyMax: 100, hourlyMax: 50, minIntervalSeconds: 60, jitterRatio: 0 },
    });
    const bad = { timezone: 'Mars/Olympus', window: { days: EVERY_DAY, start: '18:00', end: '09:00' } };
    const err = await handle
      .executeUpdate(reserveSlotUpdate, { args: [{ requestId: `b-${randomUUID()}`, campaignId: 'c', window: bad }] })
      .then(() => null, (e: Error) => e);
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    expect((err as WorkflowUpdateFailedError).cause?.message).toMatch(/invalid window: window.end: .*; window.timezone: unknown time zone 'Mars\/Olympus'/);
    const ok = await handle.executeUpdate(reserveSlotUpdate, { args: [{ requestId: `o-${randomUUID()}`, campaignId: 'c' }] });
    expect(ok.granted).toBe(true);
  });
});
