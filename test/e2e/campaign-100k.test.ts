import { SendgridFake } from '../fakes/sendgrid-fake';
import { campaignWithLeads, deliveriesPerAddress, newProvider } from '../helpers/campaign-fixture';
import { newClient, startStack, type Stack } from '../helpers/stack';

/**
 * The scale acceptance test: 100,000 leads, caps lifted (10,000/day and per
 * hour, no interval), a zero-latency provider. Every lead goes out exactly
 * once and no workflow run (campaign or mailbox) grows past 10,000 events:
 * batching and continue-as-new keep histories bounded at any size.
 * (Throughput is measured by npm run bench:campaign, not here.)
 */
const LEADS = 100_000;
const MAILBOXES = 20;

describe(`a ${LEADS.toLocaleString('en')}-lead campaign`, () => {
  let stack: Stack;
  const provider = new SendgridFake();

  beforeAll(async () => {
    const url = await provider.start();
    stack = await startStack({ worker: true });
    (stack as Stack & { url: string }).url = url;
  });
  afterAll(async () => {
    await stack?.close();
    await provider.stop();
  });

  it('completes with every lead sent exactly once and no workflow history over 10,000 events', async () => {
    const url = (stack as Stack & { url: string }).url;
    const account = await newProvider(stack, 'sendgrid', { apiKey: 'SG.scale', endpoint: url });
    const client = await newClient(stack);
    const c = await campaignWithLeads(stack, client, {
      providers: [account.name],
      mailboxes: MAILBOXES,
      leads: LEADS,
      mailboxOverrides: { limits: { dailyMax: 10_000, hourlyMax: 10_000, minIntervalSeconds: 0, jitterRatio: 0 } },
    });
    await c.start();
    await c.waitDone(40 * 60_000);

    const counts = deliveriesPerAddress(provider.messages);
    const odd = c.emails.filter((e) => counts.get(e) !== 1);
    expect(odd.slice(0, 10)).toEqual([]);
    expect(provider.accepted).toBe(LEADS);
    const rows = await stack.pool.query<{ status: string; n: number }>(
      'SELECT status, count(*)::int AS n FROM sends WHERE campaign_id = $1 GROUP BY status',
      [c.campaignId],
    );
    expect(rows.rows).toEqual([{ status: 'sent', n: LEADS }]);

    // Every run of every workflow on this stack's task queue: the campaign's
    // continued-as-new runs and the 20 mailboxes' runs.
    const runs: { id: string; events: number }[] = [];
    for await (const wf of stack.temporal.workflow.list({ query: `TaskQueue = "${stack.config.TEMPORAL_TASK_QUEUE}"` })) {
      runs.push({ id: `${wf.workflowId}/${wf.runId}`, events: wf.historyLength });
    }
    expect(runs.filter((r) => r.id.startsWith(`campaign-${c.campaignId}/`)).length).toBeGreaterThanOrEqual(1);
    expect(runs.filter((r) => r.id.startsWith(`campaign-${c.campaignId}-r0-g0/`)).length).toBeGreaterThan(1); // its group did continue as new
    expect(runs.filter((r) => r.id.startsWith('mailbox-')).length).toBeGreaterThanOrEqual(MAILBOXES);
    expect(runs.filter((r) => r.events > 10_000)).toEqual([]);
    expect(Math.max(...runs.map((r) => r.events))).toBeGreaterThan(100); // the lengths are real
  }, 45 * 60_000);
});
