import { randomUUID } from 'node:crypto';
import { campaignWorkflowId } from '../../workflows/ids';
import { reputationWorkflow } from '../../workflows';
import { SmtpSink } from '../fakes/smtp-sink';
import { campaignWithLeads, deliveriesPerAddress, newProvider } from '../helpers/campaign-fixture';
import { createTestDatabase } from '../helpers/databases';
import { bearer, eventually, json, newClient, startStack, type Stack } from '../helpers/stack';
import { testEnv } from '../helpers/test-env';

/** Slow enough (2 mailboxes, one send each per 2 s, 30 leads) that the campaign is still running when its workflow is killed. */
const SLOW = { limits: { dailyMax: 1000, hourlyMax: 1000, minIntervalSeconds: 2, jitterRatio: 0 } };

interface CampaignBody {
  status: string;
  failureReason: string | null;
  failedAt: string | null;
  progress: unknown;
}

/**
 * A campaign whose workflow closes unexpectedly (terminated by hand here)
 * must not go on saying 'running': GET answers 'failed' with the reason at
 * once, the reputation controller marks it within its 15-minute run, one
 * alert is raised either way, and resume restarts it with no lead sent twice.
 * Own database: the controller looks at every campaign.
 */
describe('a campaign whose workflow closed unexpectedly', () => {
  let stack: Stack;
  let sink: SmtpSink;
  let db: { url: string; drop(): Promise<void> };

  beforeAll(async () => {
    sink = await new SmtpSink().start();
    db = await createTestDatabase(testEnv('adminDatabaseUrl'), 'outreach_rowtruth');
    stack = await startStack({ worker: true, env: { DATABASE_URL: db.url } });
  });
  afterAll(async () => {
    await stack?.close();
    await db?.drop();
    await sink?.stop();
  });

  /** A running campaign with a few sends out, whose workflow is then terminated by hand. */
  async function terminatedCampaign(reason: string) {
    const provider = await newProvider(stack, 'smtp', { host: '127.0.0.1', port: sink.port });
    const client = await newClient(stack);
    const c = await campaignWithLeads(stack, client, { providers: [provider.name], mailboxes: 2, leads: 30, mailboxOverrides: SLOW });
    await c.start();
    const mine = () => sink.received.filter((m) => c.emails.includes(m.to[0]!)).length;
    await eventually(async () => mine() >= 2, 20_000, 20);
    await stack.temporal.workflow.getHandle(campaignWorkflowId(c.campaignId)).terminate(reason);
    const get = async () => json<CampaignBody>(await stack.app.inject({ method: 'GET', url: `/v1/campaigns/${c.campaignId}`, headers: bearer(client.apiKey) }));
    return { ...c, client, mine, get };
  }

  const alertsOf = async (campaignId: string) =>
    (await stack.pool.query<{ kind: string; message: string; client_id: string }>(
      "SELECT kind, message, client_id FROM alerts WHERE subject_type = 'campaign' AND subject_id = $1",
      [campaignId],
    )).rows;

  const row = async (campaignId: string) =>
    (await stack.pool.query<{ status: string; failure_reason: string | null }>('SELECT status, failure_reason FROM campaigns WHERE id = $1', [campaignId])).rows[0]!;

  it('GET answers failed at once, naming the termination, and raises one alert however often it is read', async () => {
    const c = await terminatedCampaign('operator pulled the plug');
    const body = await c.get();
    expect(body.status).toBe('failed');
    expect(body.failureReason).toBe('workflow terminated: operator pulled the plug');
    expect(body.failedAt).not.toBeNull();
    expect(body.progress).toBeNull();
    expect(await row(c.campaignId)).toEqual({ status: 'failed', failure_reason: 'workflow terminated: operator pulled the plug' });

    const again = await Promise.all([c.get(), c.get(), c.get()]);
    for (const b of again) expect(b).toMatchObject({ status: 'failed', failureReason: 'workflow terminated: operator pulled the plug' });
    const alerts = await alertsOf(c.campaignId);
    expect(alerts).toEqual([
      { kind: 'campaign_failed', client_id: c.client.id, message: expect.stringMatching(new RegExp(`^campaign ${c.campaignId} failed: workflow terminated: operator pulled the plug$`)) },
    ]);
    // A failed campaign cannot be paused; it can be cancelled.
    const pause = await stack.app.inject({ method: 'POST', url: `/v1/campaigns/${c.campaignId}/pause`, headers: bearer(c.client.apiKey) });
    expect(pause.statusCode).toBe(409);
  }, 60_000);

  it('the reputation controller marks such a campaign failed with one alert, and a second run changes nothing', async () => {
    const c = await terminatedCampaign('killed during maintenance');
    // A healthy running campaign next to it stays running.
    const provider = await newProvider(stack, 'smtp', { host: '127.0.0.1', port: sink.port });
    const client = await newClient(stack);
    const healthy = await campaignWithLeads(stack, client, { providers: [provider.name], mailboxes: 1, leads: 30, mailboxOverrides: SLOW });
    await healthy.start();

    const runController = () =>
      stack.temporal.workflow.execute(reputationWorkflow, { taskQueue: stack.config.TEMPORAL_TASK_QUEUE, workflowId: `reputation-test-${randomUUID()}` });
    const first = await runController();
    expect(first.campaignsFailed).toBe(1);
    expect(await row(c.campaignId)).toEqual({ status: 'failed', failure_reason: 'workflow terminated: killed during maintenance' });
    expect((await row(healthy.campaignId)).status).toBe('running');
    expect(await alertsOf(c.campaignId)).toEqual([
      { kind: 'campaign_failed', client_id: c.client.id, message: `campaign ${c.campaignId} failed: workflow terminated: killed during maintenance` },
    ]);

    const second = await runController();
    expect(second.campaignsFailed).toBe(0);
    expect(await alertsOf(c.campaignId)).toHaveLength(1);
    expect(await alertsOf(healthy.campaignId)).toEqual([]);
    // And a GET after the controller adds nothing either.
    expect(await c.get()).toMatchObject({ status: 'failed', failureReason: 'workflow terminated: killed during maintenance' });
    expect(await alertsOf(c.campaignId)).toHaveLength(1);
    await stack.app.inject({ method: 'POST', url: `/v1/campaigns/${healthy.campaignId}/cancel`, headers: bearer(client.apiKey) });
  }, 60_000);

  it('resume restarts the workflow and finishes the campaign with every lead delivered exactly once', async () => {
    const c = await terminatedCampaign('oops');
    expect((await c.get()).status).toBe('failed');
    const auth = bearer(c.client.apiKey);
    const resumed = await stack.app.inject({ method: 'POST', url: `/v1/campaigns/${c.campaignId}/resume`, headers: auth });
    expect(resumed.statusCode).toBe(200);
    expect(json(resumed)).toEqual({ status: 'running' });
    const body = await c.get();
    expect(body).toMatchObject({ status: 'running', failureReason: null, failedAt: null });
    // Resume of a running campaign stays a 409.
    const twice = await stack.app.inject({ method: 'POST', url: `/v1/campaigns/${c.campaignId}/resume`, headers: auth });
    expect(twice.statusCode).toBe(409);

    await c.waitDone(45_000);
    const counts = deliveriesPerAddress(sink.received);
    for (const e of c.emails) expect({ e, n: counts.get(e) }).toEqual({ e, n: 1 });
    expect(await row(c.campaignId)).toEqual({ status: 'completed', failure_reason: null });
    const sends = await stack.pool.query<{ status: string; n: number }>(
      'SELECT status, count(*)::int AS n FROM sends WHERE campaign_id = $1 GROUP BY status',
      [c.campaignId],
    );
    expect(sends.rows).toEqual([{ status: 'sent', n: 30 }]);
    const desc = await stack.temporal.workflow.getHandle(campaignWorkflowId(c.campaignId)).describe();
    expect(desc.status.name).toBe('COMPLETED');
    expect(await alertsOf(c.campaignId)).toHaveLength(1);
  }, 60_000);
});
