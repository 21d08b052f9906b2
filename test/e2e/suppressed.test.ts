import { SmtpSink } from '../fakes/smtp-sink';
import { campaignWithLeads, newProvider } from '../helpers/campaign-fixture';
import { bearer, json, newClient, startStack, type Stack } from '../helpers/stack';

describe('suppression', () => {
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

  it('a suppressed address uploaded to a new campaign is counted as suppressed and never sent', async () => {
    const provider = await newProvider(stack, 'smtp', { host: '127.0.0.1', port: sink.port });
    const client = await newClient(stack);
    const c = await campaignWithLeads(stack, client, { providers: [provider.name], mailboxes: 2, leads: 5 });
    const suppressed = `Blocked.Person-${c.tag}@Leads.Example.org`;
    await stack.pool.query("INSERT INTO suppressions (client_id, email, reason) VALUES ($1, $2, 'unsubscribed')", [client.id, suppressed.toLowerCase()]);
    const up = await stack.app.inject({
      method: 'POST', url: `/v1/campaigns/${c.campaignId}/leads`, headers: bearer(client.apiKey),
      payload: { leads: [{ email: suppressed }] },
    });
    expect(json(up)).toMatchObject({ accepted: 0, suppressed: 1 });
    await c.start();
    await c.waitDone(60_000);
    const detail = json<{ counts: { sent: number; suppressed: number } }>(
      await stack.app.inject({ method: 'GET', url: `/v1/campaigns/${c.campaignId}`, headers: bearer(client.apiKey) }),
    );
    expect(detail.counts).toMatchObject({ sent: 5, suppressed: 1 });
    expect(sink.received.filter((m) => m.to[0] === suppressed.toLowerCase())).toEqual([]);
    const sends = await stack.pool.query('SELECT count(*)::int AS n FROM sends s JOIN leads l ON l.id = s.lead_id WHERE lower(l.email) = lower($1)', [suppressed]);
    expect(sends.rows[0].n).toBe(0);
  }, 90_000);

  it('an address suppressed after its lead was uploaded (the lead row still pending) is skipped at send time and counted suppressed', async () => {
    const provider = await newProvider(stack, 'smtp', { host: '127.0.0.1', port: sink.port });
    const client = await newClient(stack);
    const c = await campaignWithLeads(stack, client, { providers: [provider.name], mailboxes: 2, leads: 6 });
    const late = c.emails[3]!;
    // Only the list row, as when a bounce for this address lands while the upload is committing.
    await stack.pool.query("INSERT INTO suppressions (client_id, email, reason) VALUES ($1, lower($2), 'hard_bounce')", [client.id, late]);
    const before = await stack.pool.query('SELECT status FROM leads WHERE campaign_id = $1 AND email = $2', [c.campaignId, late]);
    expect(before.rows[0].status).toBe('pending');
    await c.start();
    await c.waitDone(60_000);
    expect(sink.received.filter((m) => m.to[0] === late.toLowerCase())).toEqual([]);
    const detail = json<{ counts: { sent: number; suppressed: number } }>(
      await stack.app.inject({ method: 'GET', url: `/v1/campaigns/${c.campaignId}`, headers: bearer(client.apiKey) }),
    );
    expect(detail.counts).toMatchObject({ sent: 5, suppressed: 1 });
  }, 90_000);
});
