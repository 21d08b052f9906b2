import { mailboxWorkflowId } from '../../workflows/ids';
import { stateQuery } from '../../workflows/mailbox.workflow';
import { SmtpFake } from '../fakes/smtp-fake';
import { ALWAYS_OPEN, campaignWithLeads, deliveriesPerAddress, FAST_LIMITS, newProvider } from '../helpers/campaign-fixture';
import { bearer, eventually, json, newClient, startStack, type Stack } from '../helpers/stack';

describe('send failures inside a campaign', () => {
  let stack: Stack;
  const good = new SmtpFake();
  const badAuth = new SmtpFake();

  beforeAll(async () => {
    await good.start();
    await badAuth.start();
    badAuth.authFail();
    stack = await startStack({ worker: true });
  });
  afterAll(async () => {
    await stack?.close();
    await good.stop();
    await badAuth.stop();
  });

  it('a recipient refused at RCPT (550 no such user) bounces that lead only; a sender-misconfigured mailbox pauses and the campaign goes on with the others', async () => {
    const okProvider = await newProvider(stack, 'smtp', { host: '127.0.0.1', port: good.port, user: 'u', pass: 'p' });
    const brokenProvider = await newProvider(stack, 'smtp', { host: '127.0.0.1', port: badAuth.port, user: 'u', pass: 'wrong' });
    const client = await newClient(stack);
    const c = await campaignWithLeads(stack, client, { providers: [okProvider.name], mailboxes: 3, leads: 30 });
    // One more mailbox in the same pool whose only provider rejects its credentials.
    const pool = (await stack.pool.query('SELECT pool FROM mailboxes WHERE id = $1', [c.mailboxIds[0]])).rows[0].pool as string;
    const brokenAddress = `broken-${c.tag}@${c.addresses[0]!.split('@')[1]}`; // a domain the fixture verified for this client
    const imported = json<{ ids: string[] }>(await stack.app.inject({
      method: 'POST', url: '/v1/mailboxes', headers: bearer(client.apiKey),
      payload: { mailboxes: [{ address: brokenAddress, pool, providers: [brokenProvider.name], warmup: null, window: ALWAYS_OPEN, limits: FAST_LIMITS }] },
    }));
    const brokenId = imported.ids[0]!;
    const rejected = c.emails[7]!;
    good.rejectRecipient(rejected);

    await c.start();
    await c.waitDone();

    const counts = deliveriesPerAddress(good.messages);
    for (const e of c.emails) expect({ e, n: counts.get(e) ?? 0 }).toEqual({ e, n: e === rejected ? 0 : 1 });
    expect(badAuth.accepted).toBe(0);

    const statuses = await stack.pool.query<{ email: string; lead: string; send: string }>(
      `SELECT l.email, l.status AS lead, s.status AS send FROM leads l JOIN sends s ON s.lead_id = l.id WHERE l.campaign_id = $1`,
      [c.campaignId],
    );
    expect(statuses.rows).toHaveLength(30);
    for (const r of statuses.rows) {
      expect({ email: r.email, lead: r.lead, send: r.send }).toEqual(
        r.email === rejected ? { email: r.email, lead: 'bounced', send: 'bounced' } : { email: r.email, lead: 'done', send: 'sent' },
      );
    }

    // The misconfigured mailbox paused itself (workflow and database) and sent nothing.
    const live = await stack.temporal.workflow.getHandle(mailboxWorkflowId(brokenAddress)).query(stateQuery, Date.now());
    expect(live).toMatchObject({ status: 'paused', pauseReason: 'sender_misconfigured' });
    await eventually(async () => (await stack.pool.query('SELECT status FROM mailboxes WHERE id = $1', [brokenId])).rows[0].status === 'paused');
    const fromBroken = await stack.pool.query("SELECT count(*)::int AS n FROM sends WHERE mailbox_id = $1 AND status = 'sent'", [brokenId]);
    expect(fromBroken.rows[0].n).toBe(0);
  }, 120_000);
});
