/**
 * The inbox watcher over a simulated week, on the time-skipping test server,
 * with the real workflow, the real watch activity, a real Dovecot and
 * PostgreSQL.
 *
 * The watcher's workflow has no timer of its own: while a mailbox is quiet,
 * its session (one activity) waits on IMAP IDLE and its history does not
 * move. So a week is its 168 hourly sessions, here run back to back with a
 * session of 200 ms standing for an hour, mail arriving now and then; every
 * run of the watcher stays under a few hundred events (it continues as new
 * every 48 sessions) and every message is ingested once across those runs.
 * Then the server goes away for a simulated day: the session's retries back
 * off on Temporal's timers, which the time-skipping server runs through in
 * seconds, and cost the history nothing; one alert says so.
 */
import type { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { createActivities } from '../../activities';
import { ProviderRegistry } from '../../activities/providers/registry';
import { SecretBox } from '../../core/crypto';
import { createLogger } from '../../core/logger';
import { createPool } from '../../db/pool';
import { createClient } from '../../db/repositories/clients';
import { sealImapSettings } from '../../db/repositories/mailbox-imap';
import { insertMailboxes } from '../../db/repositories/mailboxes';
import { imapWatcherWorkflowId } from '../../workflows/ids';
import { imapWatcherStateQuery, imapWatcherWorkflow } from '../../workflows/imap-watcher.workflow';
import { IMAP_SESSIONS_PER_RUN } from '../../workflows/policy/imap-watcher';
import { Dovecot } from '../helpers/dovecot';
import { eventually, testConfig } from '../helpers/stack';
import { testEnv } from '../helpers/test-env';
import { createTimeSkippingEnv, timeSkippingDataConverter } from '../helpers/time-skipping';

type Event = temporal.api.history.v1.IHistoryEvent;

const HOURS_IN_A_WEEK = 168;
/** One hourly session, compressed. */
const SESSION_MS = 200;
/** Most events one run of the watcher may hold. */
const MAX_EVENTS_PER_RUN = 400;
const DAY_MS = 86_400_000;

describe('the inbox watcher over a simulated week (time-skipping server, real Dovecot)', () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  let pool: Pool;
  let providers: ProviderRegistry;
  let dovecot: Dovecot;
  const box = new SecretBox(randomBytes(32).toString('base64'));
  const taskQueue = `imap-week-${randomUUID()}`;

  beforeAll(async () => {
    env = await createTimeSkippingEnv();
    dovecot = await Dovecot.start();
    pool = createPool(testEnv('databaseUrl'), 5);
    providers = new ProviderRegistry(pool, box);
    const config = testConfig();
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
        imap: { box, config, pollMs: 1000, heartbeatMs: 50, timeoutMs: 2000 },
      }),
    });
    running = worker.run();
  });

  afterAll(async () => {
    worker?.shutdown();
    await running;
    await providers?.closeAll();
    await pool?.end();
    await dovecot?.stop();
    await env?.teardown();
  });

  /** Every run's history, first to last: back from the current run along each run's "continued from". */
  async function runHistories(workflowId: string, lastRunId: string): Promise<{ runId: string; events: Event[] }[]> {
    const runs: { runId: string; events: Event[] }[] = [];
    let runId: string | null = lastRunId;
    while (runId) {
      const history: temporal.api.history.v1.IHistory = await env.client.workflow.getHandle(workflowId, runId).fetchHistory();
      const events: Event[] = history.events ?? [];
      runs.unshift({ runId, events });
      runId = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || null;
    }
    return runs;
  }

  it('a week of hourly sessions keeps every run bounded and ingests each message once; a day-long outage costs no history', async () => {
    const client = await createClient(pool, { name: `imap-week-${randomUUID().slice(0, 8)}` });
    const account = await dovecot.addUser();
    const address = `watch-${randomUUID().slice(0, 8)}@send.example.com`;
    const { inserted } = await insertMailboxes(pool, [{
      clientId: client.id, address, displayName: null, pool: 'week', providerIds: [], timezone: 'UTC',
      window: { days: ['mon'], start: '09:00', end: '17:00' }, limits: { dailyMax: 1, hourlyMax: 1, minIntervalSeconds: 0, jitterRatio: 0 }, warmup: null,
      imap: sealImapSettings(box, { host: dovecot.host, port: dovecot.port, tls: false, user: account.user, password: account.password }),
    }]);
    const mailboxId = inserted[0]!.id;
    const handle = await env.client.workflow.start(imapWatcherWorkflow, {
      taskQueue,
      workflowId: imapWatcherWorkflowId(address),
      args: [{ mailboxId, activityTaskQueue: taskQueue, sessionMs: SESSION_MS }],
    });

    // Mail arrives about once a simulated day (after sessions 12, 36, 60…), each message a different one.
    const sent: string[] = [];
    let nextAt = 12;
    const state = () => handle.query(imapWatcherStateQuery);
    await eventually(async () => {
      const s = await state();
      if (s.sessions >= nextAt && sent.length < 7) {
        const id = `<week-${sent.length}-${randomUUID()}@leads.example.org>`;
        await dovecot.append(account, `From: someone@leads.example.org\nTo: ${address}\nSubject: note ${sent.length}\nMessage-ID: ${id}\n\nhello\n`);
        sent.push(id);
        nextAt += 24;
      }
      return s.sessions >= HOURS_IN_A_WEEK && sent.length === 7 && s.messages >= 7;
    }, 240_000, 500);

    const week = await state();
    expect(week.status).toBe('watching');
    const chain = await runHistories(handle.workflowId, (await handle.describe()).runId);
    expect(chain[0]!.runId).toBe(handle.firstExecutionRunId);
    const runs = chain.map((r) => r.events);
    // 168 sessions at 48 a run: at least 4 runs, none of them long.
    expect(runs.length).toBeGreaterThanOrEqual(Math.ceil(HOURS_IN_A_WEEK / IMAP_SESSIONS_PER_RUN));
    expect(runs.length).toBeGreaterThanOrEqual(week.runs);
    for (const events of runs) expect(events.length).toBeLessThanOrEqual(MAX_EVENTS_PER_RUN);
    // Every session is one completed activity in some run (sessions go on while the histories are read).
    const completedSessions = runs.flat().filter((e) => e.activityTaskCompletedEventAttributes).length;
    expect(completedSessions).toBeGreaterThanOrEqual(week.sessions);
    expect(completedSessions).toBeLessThanOrEqual((await state()).sessions);
    // And all but the last run ended by continuing as new, after its 48 sessions.
    for (const events of runs.slice(0, -1)) {
      expect(events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();
      expect(events.filter((e) => e.activityTaskCompletedEventAttributes)).toHaveLength(IMAP_SESSIONS_PER_RUN);
    }
    // Each message once: one events row each, whatever run's session read it.
    const { rows } = await pool.query<{ id: string; n: number }>(
      `SELECT payload->>'messageId' AS id, count(*)::int AS n FROM events
       WHERE provider_kind = 'imap' AND payload->>'mailboxId' = $1 GROUP BY 1 ORDER BY 1`,
      [mailboxId],
    );
    expect(rows).toEqual([...sent].sort().map((id) => ({ id, n: 1 })));

    // The server goes away for a day: the retries wait on Temporal's timers (skipped here) and are no events.
    await dovecot.kill();
    const lastRun = (await handle.describe()).runId;
    const before = (await env.client.workflow.getHandle(handle.workflowId, lastRun).fetchHistory()).events?.length ?? 0;
    await env.sleep(DAY_MS);
    const after = (await env.client.workflow.getHandle(handle.workflowId, lastRun).fetchHistory()).events ?? [];
    const pending = (await handle.describe()).raw.pendingActivities ?? [];
    expect(pending[0]?.attempt ?? 0).toBeGreaterThan(6);
    // The session in flight when the server went may have ended (one activity's worth of events); the retries add none.
    expect(after.length - before).toBeLessThanOrEqual(6);
    const alerts = await pool.query<{ kind: string; message: string }>(
      "SELECT kind, message FROM alerts WHERE subject_type = 'mailbox' AND subject_id = $1 ORDER BY created_at",
      [mailboxId],
    );
    expect(alerts.rows.map((a) => a.kind)).toEqual(['imap_unreachable']);
    expect(alerts.rows[0]!.message).not.toContain(account.password);
    await handle.terminate('test over');
  }, 300_000);
});
