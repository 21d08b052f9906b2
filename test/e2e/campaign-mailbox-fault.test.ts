import { campaignGroupWorkflowId, mailboxWorkflowId } from '../../workflows/ids';
import { SmtpSink } from '../fakes/smtp-sink';
import { campaignWithLeads, newProvider } from '../helpers/campaign-fixture';
import { bearer, eventually, json, newClient, startStack, type Stack } from '../helpers/stack';

describe('one mailbox of a campaign fails mid-campaign', () => {
  let stack: Stack;
  let sink: SmtpSink;
  beforeAll(async () => {
    sink = await new SmtpSink().start();
    stack = await startStack({ worker: true });
  });
  afterAll(async () => {
    await stack?.close();
    await sink?.stop();
  });

  it('a terminated mailbox workflow ends only its part: the others send its leads, an alert names it, the campaign completes', async () => {
    const provider = await newProvider(stack, 'smtp', { host: '127.0.0.1', port: sink.port });
    const client = await newClient(stack);
    const c = await campaignWithLeads(stack, client, {
      providers: [provider.name], mailboxes: 5, leads: 100,
      mailboxOverrides: { limits: { dailyMax: 1000, hourlyMax: 1000, minIntervalSeconds: 1, jitterRatio: 0 } },
    });
    const auth = bearer(client.apiKey);
    const victim = { id: c.mailboxIds[0]!, address: c.addresses[0]! };
    await c.start();
    await eventually(async () => sink.received.length >= 10, 30_000, 50);
    await stack.temporal.workflow.getHandle(mailboxWorkflowId(victim.address)).terminate('test: the mailbox workflow is gone');
    const killedAt = Date.now();

    await c.waitDone(120_000);
    const view = json<{ status: string; counts: { sent: number; pending: number; failed: number } }>(
      await stack.app.inject({ method: 'GET', url: `/v1/campaigns/${c.campaignId}`, headers: auth }),
    );
    expect(view.status).toBe('completed');
    expect(view.counts).toMatchObject({ sent: 100, pending: 0, failed: 0 });
    // Every lead exactly once at the SMTP server.
    for (const e of c.emails) expect({ e, n: sink.received.filter((m) => m.to[0] === e).length }).toEqual({ e, n: 1 });
    expect(sink.received).toHaveLength(100);
    // The victim sent nothing after it was gone but the rest of a batch it had granted before (slots within 5 s of each other).
    const { rows: late } = await stack.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM sends WHERE campaign_id = $1 AND mailbox_id = $2 AND created_at > $3`,
      [c.campaignId, victim.id, new Date(killedAt + 5000 + 2000)],
    );
    expect(late[0]!.n).toBe(0);
    // The other mailboxes took its share.
    const { rows: per } = await stack.pool.query<{ mailbox_id: string; n: number }>(
      `SELECT mailbox_id, count(*)::int AS n FROM sends WHERE campaign_id = $1 GROUP BY mailbox_id`, [c.campaignId],
    );
    expect(per.filter((r) => r.mailbox_id !== victim.id).reduce((n, r) => n + r.n, 0)).toBeGreaterThan(80);
    // One alert names the mailbox and why it left.
    const { rows: alerts } = await stack.pool.query<{ kind: string; message: string; client_id: string }>(
      `SELECT kind, message, client_id FROM alerts WHERE subject_type = 'mailbox' AND subject_id = $1`, [victim.id],
    );
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ kind: 'campaign_mailbox_failed', client_id: client.id });
    expect(alerts[0]!.message).toContain(victim.id);
    expect(alerts[0]!.message).toMatch(/not running/);
    expect(alerts[0]!.message).not.toContain(victim.address);
  }, 180_000);

  it('a group workflow terminated by hand ends its round only: the next round finishes the campaign, no lead twice', async () => {
    const provider = await newProvider(stack, 'smtp', { host: '127.0.0.1', port: sink.port });
    const client = await newClient(stack);
    const c = await campaignWithLeads(stack, client, {
      providers: [provider.name], mailboxes: 3, leads: 60,
      mailboxOverrides: { limits: { dailyMax: 1000, hourlyMax: 1000, minIntervalSeconds: 1, jitterRatio: 0 } },
    });
    const mine = () => sink.received.filter((m) => c.emails.includes(m.to[0]!));
    await c.start();
    await eventually(async () => mine().length >= 6, 30_000, 50);
    await stack.temporal.workflow.getHandle(campaignGroupWorkflowId(c.campaignId, 0, 0)).terminate('test: a group is gone');
    await c.waitDone(120_000);
    const per = c.emails.map((e) => mine().filter((m) => m.to[0] === e).length);
    expect(Math.max(...per)).toBe(1); // never twice
    // Every lead went out, but for a send the terminated group had under way (unknown, never re-sent).
    const { rows } = await stack.pool.query<{ status: string; n: number }>(
      'SELECT status, count(*)::int AS n FROM sends WHERE campaign_id = $1 GROUP BY status', [c.campaignId]);
    const by = Object.fromEntries(rows.map((r) => [r.status, r.n]));
    expect((by.sent ?? 0) + (by.unknown ?? 0)).toBe(60);
    expect(by.unknown ?? 0).toBeLessThanOrEqual(3);
    expect(per.filter((n) => n === 1).length).toBe(by.sent);
    // It took a second round.
    await expect(stack.temporal.workflow.getHandle(campaignGroupWorkflowId(c.campaignId, 1, 0)).describe()).resolves.toBeDefined();
  }, 180_000);
});
