import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import type { temporal } from '@temporalio/proto';
import { randomUUID } from 'node:crypto';
import { access, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { dataConverterFrom } from '../../core/codec';
import { campaignGroupWorkflowId, campaignWorkflowId, mailboxWorkflowId } from '../../workflows/ids';
import {
  mailboxWorkflow,
  pauseUpdate,
  reportOutcomeSignal,
  reportOutcomesSignal,
  reserveSlotUpdate,
  resumeUpdate,
  updateSettingsUpdate,
  stateQuery,
} from '../../workflows/mailbox.workflow';
import { SmtpSink } from '../fakes/smtp-sink';
import { reputationWorkflow, retentionWorkflow, rotationWorkflow } from '../../workflows';
import { campaignWithLeads, newProvider } from '../helpers/campaign-fixture';
import { imapTaskQueue } from '../../core/config';
import { SecretBox } from '../../core/crypto';
import { sealImapSettings, upsertImapSettings } from '../../db/repositories/mailbox-imap';
import { insertMailboxes } from '../../db/repositories/mailboxes';
import { imapWatcherWorkflowId } from '../../workflows/ids';
import { imapSettingsChangedSignal, imapWatcherStateQuery, imapWatcherWorkflow } from '../../workflows/imap-watcher.workflow';
import { Dovecot } from '../helpers/dovecot';
import { createTestDatabase } from '../helpers/databases';
import { bearer, eventually, newClient, startStack, type Stack } from '../helpers/stack';
import { testEnv } from '../helpers/test-env';
// The fixture key recorded histories are sealed with, and how they are read: the deploy gate's (npm run replay).
import { FIXTURE_PAYLOAD_KEY, fixtureHistories } from '../../scripts/replay';

const FIXTURES = path.join(__dirname, '../fixtures/histories');

/** A stage that must finish in `ms`, or the test fails naming it. */
async function stage<T>(name: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`replay test stage "${name}" did not finish in ${ms} ms`)), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Determinism guard: recorded mailbox, campaign, reputation-controller and
 * rotation histories (committed fixtures; RECORD_HISTORIES=1 writes the ones
 * missing, so older recordings keep guarding code paths of older versions)
 * and fresh ones must replay on today's workflow code without a
 * nondeterminism error. Own database: the scheduled workflows act on every row.
 */
describe('replay of mailbox, campaign, reputation, rotation, retention and inbox watcher workflow histories', () => {
  let stack: Stack;
  let sink: SmtpSink;
  let db: { url: string; drop(): Promise<void> };
  beforeAll(async () => {
    sink = await new SmtpSink().start();
    db = await createTestDatabase(testEnv('adminDatabaseUrl'), 'outreach_replay');
    stack = await startStack({ worker: true, env: { TEMPORAL_PAYLOAD_KEY: FIXTURE_PAYLOAD_KEY, DATABASE_URL: db.url } });
  });
  afterAll(async () => {
    await stack?.close();
    await db?.drop();
    await sink?.stop();
  });

  /** One run each of the scheduled workflows, over the campaign's data. */
  async function scheduledHistories(): Promise<{ name: string; workflowId: string; history: temporal.api.history.v1.IHistory }[]> {
    // Two of one mailbox's few sends bounced: the controller's rule breaches, so its run rests the mailbox (an applied decision).
    await stack.pool.query(
      `UPDATE sends SET status = 'bounced' WHERE id IN (
         SELECT id FROM sends WHERE status = 'sent' AND mailbox_id = (SELECT mailbox_id FROM sends WHERE status = 'sent' ORDER BY id LIMIT 1)
         ORDER BY id LIMIT 2)`,
    );
    const out = [];
    // An old provider event for the retention run to empty (an applied prune).
    await stack.pool.query(
      `INSERT INTO events (id, provider_kind, type, dedupe_key, payload, occurred_at, received_at)
       VALUES ($1::uuid, 'ses', 'delivered', $1::text, '{"raw": true}', now() - interval '40 days', now() - interval '40 days')`,
      [randomUUID()],
    );
    for (const [name, wf, args] of [
      ['reputation', reputationWorkflow, []], ['rotation', rotationWorkflow, [{ force: true }]], ['retention', retentionWorkflow, [{ retentionDays: 30 }]],
    ] as const) {
      const workflowId = `replay-${name}-${randomUUID()}`;
      await stack.temporal.workflow.execute(wf as typeof rotationWorkflow, { taskQueue: stack.config.TEMPORAL_TASK_QUEUE, workflowId, args: args as [] });
      out.push({ name, workflowId, history: await stack.temporal.workflow.getHandle(workflowId).fetchHistory() });
    }
    return out;
  }

  /** A two-step campaign on two mailboxes: the campaign run, and its group's batched reservations, sends, outcomes and follow-up wait. */
  async function campaignHistories(): Promise<{ name: string; workflowId: string; history: temporal.api.history.v1.IHistory }[]> {
    const provider = await newProvider(stack, 'smtp', { host: '127.0.0.1', port: sink.port });
    const client = await newClient(stack);
    const c = await campaignWithLeads(stack, client, { providers: [provider.name], mailboxes: 2, leads: 6, steps: [0, 0] });
    await c.start();
    await c.waitDone(60_000);
    const out = [];
    for (const [name, workflowId] of [
      ['campaign-groups-run1', campaignWorkflowId(c.campaignId)],
      // run1: outcomes signalled after every batch; run2: plain outcomes ride on the next reservation.
      ['campaign-group-run2', campaignGroupWorkflowId(c.campaignId, 0, 0)],
    ] as const) {
      out.push({ name, workflowId, history: await stack.temporal.workflow.getHandle(workflowId).fetchHistory() });
    }
    // The fault path: one mailbox's workflow is gone before the campaign starts; its lane fails, the other sends its leads.
    const f = await campaignWithLeads(stack, client, { providers: [provider.name], mailboxes: 2, leads: 4 });
    await stack.temporal.workflow.getHandle(mailboxWorkflowId(f.addresses[0]!)).terminate('replay fixture: mailbox gone');
    await f.start();
    await f.waitDone(60_000);
    out.push({ name: 'campaign-group-fault-run1', workflowId: campaignGroupWorkflowId(f.campaignId, 0, 0), history: await stack.temporal.workflow.getHandle(campaignGroupWorkflowId(f.campaignId, 0, 0)).fetchHistory() });
    // A dry run (issue 14): the mode in the plan, the groups' input and the summaries; sends answered dry_run.
    const d = await campaignWithLeads(stack, client, { providers: [provider.name], mailboxes: 2, leads: 4, steps: [0, 0] });
    const dry = await stack.app.inject({ method: 'POST', url: `/v1/campaigns/${d.campaignId}/start`, headers: bearer(client.apiKey), payload: { mode: 'dry-run' } });
    if (dry.statusCode !== 202) throw new Error(`dry run start: ${dry.body}`);
    await d.waitDone(60_000);
    for (const [name, workflowId] of [
      ['campaign-dry-run-groups-run1', campaignWorkflowId(d.campaignId)],
      ['campaign-dry-run-group-run1', campaignGroupWorkflowId(d.campaignId, 0, 0)],
    ] as const) {
      out.push({ name, workflowId, history: await stack.temporal.workflow.getHandle(workflowId).fetchHistory() });
    }
    return out;
  }

  /**
   * An inbox watcher's first run on a real Dovecot: refused credentials (it waits), new ones (the signal), two
   * short sessions, continue-as-new.
   */
  async function watcherHistories(): Promise<{ workflowId: string; history: temporal.api.history.v1.IHistory }[]> {
    const dovecot = await Dovecot.start();
    try {
      const account = await dovecot.addUser();
      const box = new SecretBox(stack.config.CREDENTIALS_KEY!);
      const client = await newClient(stack);
      const address = `replay-imap-${randomUUID().slice(0, 8)}@send.example.com`;
      const settings = { host: dovecot.host, port: dovecot.port, tls: false, user: account.user, password: account.password };
      const { inserted } = await insertMailboxes(stack.pool, [{
        clientId: client.id, address, displayName: null, pool: 'replay', providerIds: [], timezone: 'UTC',
        window: { days: ['mon'], start: '09:00', end: '17:00' }, limits: { dailyMax: 1, hourlyMax: 1, minIntervalSeconds: 0, jitterRatio: 0 }, warmup: null,
        imap: sealImapSettings(box, { ...settings, password: 'not-the-password' }),
      }]);
      const mailboxId = inserted[0]!.id;
      const handle = await stack.temporal.workflow.start(imapWatcherWorkflow, {
        taskQueue: stack.config.TEMPORAL_TASK_QUEUE,
        workflowId: imapWatcherWorkflowId(address),
        args: [{ mailboxId, activityTaskQueue: imapTaskQueue(stack.config), sessionMs: 300, sessionsPerRun: 2 }],
      });
      await eventually(async () => (await handle.query(imapWatcherStateQuery)).status === 'auth_failed');
      await upsertImapSettings(stack.pool, box, mailboxId, settings);
      await handle.signal(imapSettingsChangedSignal);
      // Its first run ended in continue-as-new after two sessions.
      await eventually(async () => (await handle.describe()).runId !== handle.firstExecutionRunId);
      await handle.terminate('replay fixture recorded');
      return [{ workflowId: handle.workflowId, history: await stack.temporal.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).fetchHistory() }];
    } finally {
      await dovecot.stop();
    }
  }

  async function produceHistories(): Promise<{ workflowId: string; history: temporal.api.history.v1.IHistory }[]> {
    const address = `replay-${randomUUID()}@send.example.com`;
    const handle = await stack.temporal.workflow.start(mailboxWorkflow, {
      taskQueue: stack.config.TEMPORAL_TASK_QUEUE,
      workflowId: mailboxWorkflowId(address),
      args: [{
        mailboxId: randomUUID(),
        address,
        maxEventsPerRun: 6,
        settings: {
          timezone: 'Europe/Berlin',
          window: { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '00:00', end: '24:00' },
          limits: { dailyMax: 100, hourlyMax: 100, minIntervalSeconds: 1, jitterRatio: 0.3 },
          warmup: { startPerDay: 50, increasePerDay: 5, maxPerDay: 100, startedOn: '2026-01-01' },
        },
      }],
    });
    for (let i = 0; i < 4; i++) {
      const a = await handle.executeUpdate(reserveSlotUpdate, { args: [{ requestId: `r${i}`, campaignId: `c${i % 2}` }] });
      expect(a.granted).toBe(true);
      await handle.signal(reportOutcomeSignal, { requestId: `r${i}`, outcome: i === 2 ? 'bounced' : 'sent' });
    }
    await handle.executeUpdate(pauseUpdate, { args: [{ reason: 'replay' }] });
    // Pause reasons: a rest beside the hand pause, the rest ending first, then the hand pause.
    await handle.executeUpdate(pauseUpdate, { args: [{ kind: 'rest', reason: 'bounce rate', until: Date.now() + 3_600_000 }] });
    await handle.executeUpdate(resumeUpdate, { args: [{ kind: 'rest' }] });
    await handle.executeUpdate(resumeUpdate, { args: [{}] });
    // New settings by an Update (PATCH /v1/mailboxes/:id).
    await handle.executeUpdate(updateSettingsUpdate, {
      args: [{
        timezone: 'Europe/Berlin',
        window: { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '00:00', end: '24:00' },
        limits: { dailyMax: 90, hourlyMax: 100, minIntervalSeconds: 1, jitterRatio: 0.3 },
        warmup: { startPerDay: 50, increasePerDay: 5, maxPerDay: 100, startedOn: '2026-01-01' },
      }],
    });
    await handle.signal(reportOutcomeSignal, { requestId: 'unknown', outcome: 'throttled' });
    // A batch reservation and its outcomes in one signal, as campaign lanes do.
    const batch = await handle.executeUpdate(reserveSlotUpdate, { args: [{ requestId: 'b0', campaignId: 'c9', count: 3, withinMs: 10_000 }] });
    expect(batch.granted).toBe(true);
    await handle.signal(reportOutcomesSignal, { batchId: 'b0', outcomes: [{ outcome: 'sent' }, { outcome: 'skipped' }, { outcome: 'skipped' }] });
    // A bounce carrying the one reputation rule's verdict (the only thing that cools a mailbox for bounces now).
    await handle.signal(reportOutcomeSignal, { requestId: 'feedback:ses:verdict', outcome: 'bounced', retryAfterMs: 60_000 });
    await handle.query(stateQuery, Date.now());
    // At least one continue-as-new happened: collect every run's history, following the chain from the first run.
    await eventually(async () => {
      const d = await handle.describe();
      return d.runId !== handle.firstExecutionRunId ? d : null;
    });
    const out = [];
    for (let runId: string | undefined = handle.firstExecutionRunId; runId; ) {
      const history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>> = await stack.temporal.workflow.getHandle(handle.workflowId, runId).fetchHistory();
      out.push({ workflowId: handle.workflowId, history });
      const last = history.events?.[history.events.length - 1];
      runId = last?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
    }
    return out;
  }

  it('fresh and recorded histories replay on the current code', async () => {
    const mailboxes = await stage('mailbox histories', 40_000, produceHistories());
    const campaigns = await stage('campaign histories', 90_000, campaignHistories());
    const scheduled = await stage('scheduled histories', 60_000, scheduledHistories());
    const watchers = await stage('inbox watcher histories', 60_000, watcherHistories());
    const fresh = [
      ...mailboxes,
      ...campaigns.map(({ workflowId, history }) => ({ workflowId, history })),
      ...scheduled.map(({ workflowId, history }) => ({ workflowId, history })),
      ...watchers,
    ];
    if (process.env.RECORD_HISTORIES === '1') {
      const named = [
        ...mailboxes.map((h, i) => [`mailbox-run${i + 1}`, h.history] as const),
        ...campaigns.map((h) => [h.name, h.history] as const),
        ...scheduled.map((h) => [`${h.name}-run1`, h.history] as const),
        // Recorded under the one reputation rule (its patch marker): the mailbox's verdict-only branch, the controller's new rule.
        ...mailboxes.map((h, i) => [`mailbox-rule-run${i + 1}`, h.history] as const),
        ...scheduled.filter((h) => h.name === 'reputation').map((h) => ['reputation-rule-run1', h.history] as const),
        ...watchers.map((h, i) => [`imap-watcher-run${i + 1}`, h.history] as const),
        // Recorded under pause reasons (its patch marker): the set of reasons, their writes, a settings Update.
        ...mailboxes.map((h, i) => [`mailbox-reasons-run${i + 1}`, h.history] as const),
      ];
      for (const [name, history] of named) {
        const file = path.join(FIXTURES, `${name}.json`);
        if (!(await access(file).then(() => true, () => false))) await writeFile(file, historyToJSON(history));
      }
    }
    const recorded = await fixtureHistories(FIXTURES);
    expect(recorded.map((r) => r.workflowId.replace(/\d+\.json$/, ''))).toEqual(
      expect.arrayContaining(['fixture-campaign-run', 'fixture-campaign-groups-run', 'fixture-campaign-group-run', 'fixture-campaign-group-fault-run', 'fixture-mailbox-run', 'fixture-mailbox-rule-run', 'fixture-reputation-run', 'fixture-reputation-rule-run', 'fixture-rotation-run', 'fixture-imap-watcher-run', 'fixture-mailbox-reasons-run', 'fixture-retention-run', 'fixture-campaign-dry-run-groups-run', 'fixture-campaign-dry-run-group-run']),
    );
    // A hang guard, not a speed check: replay takes about 3 s on a quiet machine, and was seen past 30 s beside the scale lane in CI.
    const results = await stage('replay', 120_000, (async () => {
      const out = [];
      for await (const r of Worker.runReplayHistories(
        { workflowBundle: { codePath: testEnv('workflowBundle') }, ...dataConverterFrom(stack.config) },
        [...fresh, ...recorded],
      )) {
        out.push(r);
      }
      return out;
    })());
    expect(results).toHaveLength(fresh.length + recorded.length);
    for (const r of results) expect({ workflowId: r.workflowId, error: r.error ?? null }).toEqual({ workflowId: r.workflowId, error: null });
  }, 330_000);
});
