/**
 * npm run bench:pacing — a campaign at real pacing on this machine (dev
 * server, PostgreSQL, worker in its own process, SMTP sink as the provider):
 * BENCH_MAILBOXES mailboxes (default 50) capped at BENCH_DAILY a day (default
 * 2), the default 72 s minimum interval with 30 % jitter, 10 an hour, always
 * open, with BENCH_LEADS leads (default 10 per mailbox, so most wait for
 * tomorrow). Reports:
 * - Temporal actions per sent email (activities, timers, signals, Updates,
 *   child and run starts, markers, search-attribute upserts), counted from
 *   every history of the campaign's workflows and its mailboxes' workflows;
 * - history events per minute across the campaign's workflows while every
 *   mailbox waits for its cap to reset (BENCH_WAIT_SECONDS, default 120).
 */
import { temporal as proto } from '@temporalio/proto';
import { SmtpSink } from '../../test/fakes/smtp-sink';
import { machineLine, runBench, say, startBenchStack } from './harness';

const MAILBOXES = Number(process.env.BENCH_MAILBOXES ?? 50);
const DAILY = Number(process.env.BENCH_DAILY ?? 2);
const LEADS = Number(process.env.BENCH_LEADS ?? MAILBOXES * 10);
const WAIT_SECONDS = Number(process.env.BENCH_WAIT_SECONDS ?? 120);

const E = proto.api.enums.v1.EventType;
/** What Temporal bills as an action, by the history event that records it (a signal counted where it lands). */
const ACTION_EVENTS = new Set<number>([
  E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
  E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
  E.EVENT_TYPE_TIMER_STARTED,
  E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
  E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
  E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
  E.EVENT_TYPE_MARKER_RECORDED,
  E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
]);

async function main(): Promise<void> {
  const stack = await startBenchStack();
  const { config, temporal, app } = stack;
  const sink = await new SmtpSink().start();
  const call = async (method: 'POST' | 'GET', url: string, key: string, payload?: unknown) => {
    const res = await app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, payload: payload as object });
    if (res.statusCode >= 300) throw new Error(`${url}: ${res.statusCode} ${res.body.slice(0, 300)}`);
    return JSON.parse(res.body) as Record<string, unknown>;
  };
  const campaignRuns = async (campaignId: string) => {
    const runs: { workflowId: string; runId: string; events: number }[] = [];
    for await (const wf of temporal.workflow.list({ query: `OutreachCampaign = "${campaignId}"` })) {
      runs.push({ workflowId: wf.workflowId, runId: wf.runId, events: wf.historyLength });
    }
    return runs;
  };
  try {
    const admin = config.ADMIN_API_KEY!;
    const client = (await call('POST', '/v1/clients', admin, { name: 'bench' })) as { apiKey: string };
    await call('POST', '/v1/providers', admin, { name: 'sink', kind: 'smtp', config: { host: '127.0.0.1', port: sink.port } });
    const all = { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '00:00', end: '24:00' };
    await stack.verifyDomains(client.apiKey, Array.from({ length: 8 }, (_, i) => `d${i}.pacing.example`));
    await call('POST', '/v1/mailboxes', client.apiKey, {
      mailboxes: Array.from({ length: MAILBOXES }, (_, i) => ({
        address: `p${i}@d${i % 8}.pacing.example`, pool: 'pacing', providers: ['sink'], warmup: null, window: all,
        limits: { dailyMax: DAILY, hourlyMax: 10, minIntervalSeconds: 72, jitterRatio: 0.3 },
      })),
    });
    const tpl = (await call('POST', '/v1/templates', client.apiKey, { name: 't', subject: 'Hi {{firstName|there}}', text: 'Hello {{firstName|there}}. {{unsubscribeUrl}}' })) as { id: string };
    const camp = (await call('POST', '/v1/campaigns', client.apiKey, { name: 'pacing', steps: [{ templateId: tpl.id, delayDays: 0 }], mailboxes: { pool: 'pacing' } })) as { id: string };
    await call('POST', `/v1/campaigns/${camp.id}/leads`, client.apiKey, { leads: Array.from({ length: LEADS }, (_, j) => ({ email: `l${j}@leads.pacing.example` })) });
    const allowed = Math.min(LEADS, MAILBOXES * DAILY);
    const t0 = performance.now();
    await call('POST', `/v1/campaigns/${camp.id}/start`, client.apiKey);
    while (sink.received.length < allowed) {
      if (performance.now() - t0 > 30 * 60_000) throw new Error(`only ${sink.received.length} of ${allowed} sent in 30 min`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    const sendSecs = (performance.now() - t0) / 1000;
    // Every lane now waits for tomorrow: let the last tasks settle, then watch.
    await new Promise((r) => setTimeout(r, 10_000));
    const before = (await campaignRuns(camp.id)).reduce((n, r) => n + r.events, 0);
    await new Promise((r) => setTimeout(r, WAIT_SECONDS * 1000));
    const runs = await campaignRuns(camp.id);
    const after = runs.reduce((n, r) => n + r.events, 0);
    const sent = sink.received.length;

    // Actions: every run of the campaign's workflows and of its mailboxes' workflows.
    let actions = 0;
    let longest = 0;
    const mailboxRuns: { workflowId: string; runId: string }[] = [];
    for await (const wf of temporal.workflow.list({ query: `TaskQueue = "${config.TEMPORAL_TASK_QUEUE}" AND WorkflowType = "mailboxWorkflow"` })) {
      mailboxRuns.push({ workflowId: wf.workflowId, runId: wf.runId });
    }
    for (const r of [...runs, ...mailboxRuns]) {
      const history = await temporal.workflow.getHandle(r.workflowId, r.runId).fetchHistory();
      longest = Math.max(longest, history.events?.length ?? 0);
      for (const ev of history.events ?? []) if (ev.eventType && ACTION_EVENTS.has(ev.eventType)) actions++;
    }
    // The mailbox workflows' own start and first timers are paid once at import, not per email.
    say(`pacing: ${MAILBOXES} mailboxes at ${DAILY}/day (72 s + 30 % jitter, 10/h), ${LEADS} leads: ${sent} sent in ${sendSecs.toFixed(0)} s, then every mailbox waits for tomorrow`);
    say(`  history events across the campaign's ${runs.length} workflow runs while waiting: ${after - before} in ${WAIT_SECONDS} s = ${((after - before) / (WAIT_SECONDS / 60)).toFixed(1)} per minute`);
    say(`  Temporal actions: ${actions} for ${sent} sent emails = ${(actions / sent).toFixed(2)} per email (campaign, group and mailbox histories, ${MAILBOXES} mailbox workflow starts included)`);
    say(`  longest history: ${longest} events`);
    say(machineLine());
  } finally {
    await stack.close();
    await sink.stop();
  }
}

runBench(main);
