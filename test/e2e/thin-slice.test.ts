import { SmtpSink } from '../fakes/smtp-sink';
import { bearer, eventually, json, newClient, newSmtpProvider, startStack, type Stack } from '../helpers/stack';
import { verifyStackDomains } from '../helpers/verified-domains';

describe('thin slice: HTTP API → campaign workflow → SMTP → Postgres', () => {
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

  it('sends each lead exactly once over SMTP and records one sent row per lead', async () => {
    const { app } = stack;
    const client = await newClient(stack);
    const provider = await newSmtpProvider(stack, sink.port);
    const auth = bearer(client.apiKey);
    const suffix = client.id.slice(-8);
    await verifyStackDomains(stack, client.apiKey, [`x@send-${suffix}.example.com`]);

    const mb = await app.inject({
      method: 'POST',
      url: '/v1/mailboxes',
      headers: auth,
      payload: {
        mailboxes: [1, 2, 3].map((i) => ({
          address: `sender${i}-${suffix}@send-${suffix}.example.com`,
          displayName: `Sender ${i}`,
          pool: 'slice',
          providers: [provider.name],
          warmup: null,
          window: { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '00:00', end: '24:00' },
          limits: { dailyMax: 100, hourlyMax: 100, minIntervalSeconds: 1, jitterRatio: 0 },
        })),
      },
    });
    expect(mb.statusCode).toBe(201);
    expect(json(mb)).toMatchObject({ created: 3, errors: [] });

    const tpl = await app.inject({
      method: 'POST',
      url: '/v1/templates',
      headers: auth,
      payload: { name: 'hello', subject: 'Hi {{firstName|there}}', text: 'Hello {{firstName|there}}, quick question about {{company}}.\n\nUnsubscribe: {{unsubscribeUrl}}' },
    });
    expect(tpl.statusCode).toBe(201);

    const camp = await app.inject({
      method: 'POST',
      url: '/v1/campaigns',
      headers: auth,
      payload: { name: 'slice', steps: [{ templateId: json(tpl).id, delayDays: 0 }], mailboxes: { pool: 'slice' } },
    });
    expect(camp.statusCode).toBe(201);
    const campaignId = json<{ id: string }>(camp).id;

    const leads = Array.from({ length: 7 }, (_, i) => ({
      email: `lead${i}-${suffix}@recipients.example.org`,
      vars: { firstName: `Lead${i}`, company: `Co${i}` },
    }));
    const up = await app.inject({ method: 'POST', url: `/v1/campaigns/${campaignId}/leads`, headers: auth, payload: { leads } });
    expect(up.statusCode).toBe(200);
    expect(json(up)).toMatchObject({ accepted: 7, duplicates: 0, suppressed: 0, invalid: [] });

    const start = await app.inject({ method: 'POST', url: `/v1/campaigns/${campaignId}/start`, headers: auth });
    expect(start.statusCode).toBe(202);
    const again = await app.inject({ method: 'POST', url: `/v1/campaigns/${campaignId}/start`, headers: auth });
    expect(again.statusCode).toBe(409);

    await eventually(async () => {
      const res = await app.inject({ method: 'GET', url: `/v1/campaigns/${campaignId}`, headers: auth });
      return json<{ status: string }>(res).status === 'completed';
    });

    const mine = sink.received.filter((m) => m.to[0]?.endsWith(`-${suffix}@recipients.example.org`));
    expect(mine).toHaveLength(7);
    expect(new Set(mine.map((m) => m.to[0])).size).toBe(7);
    const lead3 = mine.find((m) => m.to[0] === `lead3-${suffix}@recipients.example.org`)!;
    expect(lead3.headers.subject).toBe('Hi Lead3');
    expect(lead3.raw).toContain('quick question about Co3.');
    // RFC 8058 one-click unsubscribe, one line, pointing at this deployment.
    expect(lead3.headers['list-unsubscribe']).toMatch(/^<http:\/\/127\.0\.0\.1:\d+\/u\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+>$/);
    expect(lead3.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
    // The correlation id the provider echoes back is the send's id.
    expect(lead3.headers['x-outreach-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
    // The provider's credentials were decrypted from the database to log in.
    expect(sink.logins).toContainEqual({ username: 'relay-user', password: 'relay-secret-pass' });

    const { rows } = await stack.pool.query<{ status: string; n: string; mailboxes: string }>(
      `SELECT status, count(*) AS n, count(DISTINCT mailbox_id) AS mailboxes FROM sends WHERE campaign_id = $1 GROUP BY status`,
      [campaignId],
    );
    expect(rows).toEqual([{ status: 'sent', n: '7', mailboxes: '3' }]);

    const detail = json<{ counts: { sent: number; pending: number } }>(
      await app.inject({ method: 'GET', url: `/v1/campaigns/${campaignId}`, headers: auth }),
    );
    expect(detail.counts.sent).toBe(7);
    expect(detail.counts.pending).toBe(0);

    const sends = json<{ items: { status: string; providerMessageId: string; provider: string }[] }>(
      await app.inject({ method: 'GET', url: `/v1/campaigns/${campaignId}/sends`, headers: auth }),
    );
    expect(sends.items).toHaveLength(7);
    for (const s of sends.items) {
      expect(s.status).toBe('sent');
      expect(s.provider).toBe(provider.name);
      expect(s.providerMessageId).toMatch(/^sink\d+$/);
    }
  });
});
