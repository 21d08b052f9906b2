import { randomUUID } from 'node:crypto';
import { isInsideWindow, type SendingWindow } from '../../workflows/policy';
import { SmtpSink } from '../fakes/smtp-sink';
import { newProvider } from '../helpers/campaign-fixture';
import { bearer, eventually, json, newClient, startStack, type Stack } from '../helpers/stack';
import { verifyStackDomains } from '../helpers/verified-domains';

describe('three campaigns of two clients sharing one 12-mailbox agency pool', () => {
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

  it('sends every lead once, never breaks a mailbox cap, interval or window, and spreads the load evenly', async () => {
    const tag = randomUUID().slice(0, 8);
    const pool = `agency-${tag}`;
    const provider = await newProvider(stack, 'smtp', { host: '127.0.0.1', port: sink.port });
    const window: SendingWindow = { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '00:00', end: '24:00' };
    const limits = { dailyMax: 6, hourlyMax: 6, minIntervalSeconds: 1, jitterRatio: 0.3 };
    // The operator imports the agency's mailboxes, at the agency's verified domains: shared by every client's campaigns.
    const addresses = Array.from({ length: 12 }, (_, i) => `agent${i}-${tag}@d${i % 4}-${tag}.agency.example`);
    await verifyStackDomains(stack, stack.adminKey, addresses);
    const imported = await stack.app.inject({
      method: 'POST', url: '/v1/mailboxes', headers: bearer(stack.adminKey),
      payload: { mailboxes: addresses.map((address) => ({ address, pool, providers: [provider.name], warmup: null, window, limits })) },
    });
    expect(imported.statusCode).toBe(201);
    const mailboxIds = json<{ ids: string[] }>(imported).ids;
    expect(mailboxIds).toHaveLength(12);

    const [a, b] = [await newClient(stack), await newClient(stack)];
    const campaigns: { id: string; key: string; emails: string[] }[] = [];
    for (const [i, client] of [a, a, b].entries()) {
      const auth = bearer(client.apiKey);
      const tpl = json<{ id: string }>(await stack.app.inject({ method: 'POST', url: '/v1/templates', headers: auth, payload: { name: 't', subject: `C${i}`, text: 'Hi {{firstName|there}} {{unsubscribeUrl}}' } }));
      const camp = json<{ id: string }>(await stack.app.inject({ method: 'POST', url: '/v1/campaigns', headers: auth, payload: { name: `c${i}`, steps: [{ templateId: tpl.id, delayDays: 0 }], mailboxes: { pool } } }));
      const emails = Array.from({ length: 20 }, (_, j) => `c${i}-l${j}-${tag}@leads.example.org`);
      await stack.app.inject({ method: 'POST', url: `/v1/campaigns/${camp.id}/leads`, headers: auth, payload: { leads: emails.map((email) => ({ email })) } });
      campaigns.push({ id: camp.id, key: client.apiKey, emails });
    }
    // Another client's key cannot see the agency mailboxes.
    expect(json<{ items: unknown[] }>(await stack.app.inject({ method: 'GET', url: '/v1/mailboxes', headers: bearer(a.apiKey) })).items).toEqual([]);

    for (const c of campaigns) {
      expect((await stack.app.inject({ method: 'POST', url: `/v1/campaigns/${c.id}/start`, headers: bearer(c.key) })).statusCode).toBe(202);
    }
    for (const c of campaigns) {
      await eventually(async () => json<{ status: string }>(await stack.app.inject({ method: 'GET', url: `/v1/campaigns/${c.id}`, headers: bearer(c.key) })).status === 'completed', 120_000, 250);
    }

    // Every lead of every campaign exactly once.
    for (const c of campaigns) for (const e of c.emails) expect({ e, n: sink.received.filter((m) => m.to[0] === e).length }).toEqual({ e, n: 1 });

    // From the recorded slots: caps, interval and window per mailbox, across all three campaigns.
    const { rows } = await stack.pool.query<{ mailbox_id: string; slot_at: Date }>(
      'SELECT mailbox_id, slot_at FROM sends WHERE mailbox_id = ANY($1::uuid[]) AND status = $2 ORDER BY slot_at',
      [mailboxIds, 'sent'],
    );
    expect(rows).toHaveLength(60);
    const perMailbox = new Map<string, number[]>();
    for (const r of rows) perMailbox.set(r.mailbox_id, [...(perMailbox.get(r.mailbox_id) ?? []), r.slot_at.getTime()]);
    for (const [, slots] of perMailbox) {
      expect(slots.length).toBeLessThanOrEqual(limits.dailyMax);
      for (let i = 1; i < slots.length; i++) expect(slots[i]! - slots[i - 1]!).toBeGreaterThanOrEqual(limits.minIntervalSeconds * 1000);
      for (const t of slots) {
        expect(slots.filter((u) => u > t - 3_600_000 && u <= t).length).toBeLessThanOrEqual(limits.hourlyMax);
        expect(isInsideWindow(window, 'UTC', t)).toBe(true);
      }
    }
    const mean = 60 / 12;
    for (const id of mailboxIds) {
      const n = perMailbox.get(id)?.length ?? 0;
      expect({ id, withinTwentyPercent: n >= mean * 0.8 && n <= mean * 1.2 }).toEqual({ id, withinTwentyPercent: true });
    }
  }, 180_000);
});
