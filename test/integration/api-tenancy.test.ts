import { randomUUID } from 'node:crypto';
import { bearer, json, newClient, newSmtpProvider, startStack, type Stack } from '../helpers/stack';
import { verifyStackDomains } from '../helpers/verified-domains';

describe('tenant isolation and auth', () => {
  let stack: Stack;
  let a: { id: string; apiKey: string };
  let b: { id: string; apiKey: string };
  const ids: { campaign: string; mailbox: string; template: string } = { campaign: '', mailbox: '', template: '' };

  beforeAll(async () => {
    stack = await startStack();
    a = await newClient(stack, 'tenant A');
    b = await newClient(stack, 'tenant B');
    const provider = await newSmtpProvider(stack, 2525);
    const { app } = stack;
    const address = `a-${randomUUID()}@a-${randomUUID().slice(0, 8)}.example.com`;
    await verifyStackDomains(stack, a.apiKey, [address]);
    const mb = await app.inject({
      method: 'POST', url: '/v1/mailboxes', headers: bearer(a.apiKey),
      payload: { mailboxes: [{ address, providers: [provider.name], pool: 'a-pool' }] },
    });
    ids.mailbox = json<{ ids: string[] }>(mb).ids[0]!;
    const tpl = await app.inject({
      method: 'POST', url: '/v1/templates', headers: bearer(a.apiKey),
      payload: { name: 't', subject: 's', text: 'hello {{unsubscribeUrl}}' },
    });
    ids.template = json<{ id: string }>(tpl).id;
    const camp = await app.inject({
      method: 'POST', url: '/v1/campaigns', headers: bearer(a.apiKey),
      payload: { name: 'c', steps: [{ templateId: ids.template, delayDays: 0 }], mailboxes: { pool: 'a-pool' } },
    });
    ids.campaign = json<{ id: string }>(camp).id;
  });
  afterAll(() => stack?.close());

  it.each([
    ['campaign', () => `/v1/campaigns/${ids.campaign}`],
    ['campaign sends', () => `/v1/campaigns/${ids.campaign}/sends`],
    ['mailbox', () => `/v1/mailboxes/${ids.mailbox}`],
    ['template', () => `/v1/templates/${ids.template}`],
  ])("client B gets 404 for client A's %s, A gets 200", async (_name, url) => {
    const asB = await stack.app.inject({ method: 'GET', url: url(), headers: bearer(b.apiKey) });
    expect(asB.statusCode).toBe(404);
    expect(json(asB)).toEqual({ error: { code: 'not_found', message: expect.any(String) } });
    expect(asB.body).not.toContain(ids.template);
    const asA = await stack.app.inject({ method: 'GET', url: url(), headers: bearer(a.apiKey) });
    expect(asA.statusCode).toBe(200);
  });

  it("B's lists show none of A's rows", async () => {
    for (const url of ['/v1/mailboxes', '/v1/templates']) {
      const asB = json<{ items: unknown[] }>(await stack.app.inject({ method: 'GET', url, headers: bearer(b.apiKey) }));
      expect(asB.items).toEqual([]);
      const asA = json<{ items: unknown[] }>(await stack.app.inject({ method: 'GET', url, headers: bearer(a.apiKey) }));
      expect(asA.items).toHaveLength(1);
    }
  });

  it("B cannot start, or add leads to, A's campaign; nothing changes", async () => {
    const start = await stack.app.inject({ method: 'POST', url: `/v1/campaigns/${ids.campaign}/start`, headers: bearer(b.apiKey) });
    expect(start.statusCode).toBe(404);
    const leads = await stack.app.inject({
      method: 'POST', url: `/v1/campaigns/${ids.campaign}/leads`, headers: bearer(b.apiKey),
      payload: { leads: [{ email: 'x@example.org' }] },
    });
    expect(leads.statusCode).toBe(404);
    const { rows } = await stack.pool.query('SELECT status, (SELECT count(*) FROM leads WHERE campaign_id = $1) AS leads FROM campaigns WHERE id = $1', [ids.campaign]);
    expect(rows[0]).toEqual({ status: 'draft', leads: '0' });
  });

  it('B cannot build a campaign on A\'s template', async () => {
    const res = await stack.app.inject({
      method: 'POST', url: '/v1/campaigns', headers: bearer(b.apiKey),
      payload: { name: 'steal', steps: [{ templateId: ids.template, delayDays: 0 }], mailboxes: { pool: 'a-pool' } },
    });
    expect(res.statusCode).toBe(400);
    expect(json(res)).toMatchObject({ error: { code: 'validation_failed', details: [{ path: 'steps.0.templateId' }] } });
  });

  it('no key, a malformed header or an unknown key → 401', async () => {
    for (const headers of [{}, { authorization: 'Basic abc' }, bearer('oe_not-a-real-key')]) {
      const res = await stack.app.inject({ method: 'GET', url: '/v1/mailboxes', headers });
      expect(res.statusCode).toBe(401);
      expect(json(res)).toMatchObject({ error: { code: 'unauthorized' } });
    }
  });

  it('a client key on an operator route → 404 and nothing is created', async () => {
    const before = (await stack.pool.query('SELECT count(*)::int AS n FROM clients')).rows[0].n;
    const res = await stack.app.inject({ method: 'POST', url: '/v1/clients', headers: bearer(a.apiKey), payload: { name: 'sneaky' } });
    expect(res.statusCode).toBe(404);
    const prov = await stack.app.inject({
      method: 'POST', url: '/v1/providers', headers: bearer(a.apiKey),
      payload: { name: `p-${randomUUID()}`, kind: 'smtp', config: { host: 'h', port: 25 } },
    });
    expect(prov.statusCode).toBe(404);
    const keys = await stack.app.inject({ method: 'POST', url: `/v1/clients/${b.id}/keys`, headers: bearer(a.apiKey) });
    expect(keys.statusCode).toBe(404);
    const after = (await stack.pool.query('SELECT count(*)::int AS n FROM clients')).rows[0].n;
    expect(after).toBe(before);
  });

  it('the operator key cannot act as a client', async () => {
    const res = await stack.app.inject({ method: 'GET', url: '/v1/templates', headers: bearer(stack.adminKey) });
    expect(res.statusCode).toBe(403);
  });

  it('the operator key lists the agency\'s mailboxes, never a client\'s', async () => {
    const { rows } = await stack.pool.query<{ id: string }>('SELECT id FROM mailboxes WHERE client_id IS NOT NULL');
    const res = await stack.app.inject({ method: 'GET', url: '/v1/mailboxes?limit=200', headers: bearer(stack.adminKey) });
    expect(res.statusCode).toBe(200);
    const listed = new Set(json<{ items: { id: string }[] }>(res).items.map((m) => m.id));
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(listed.has(r.id)).toBe(false);
  });

  it('keys are stored hashed and a second key works', async () => {
    const res = await stack.app.inject({ method: 'POST', url: `/v1/clients/${a.id}/keys`, headers: bearer(stack.adminKey) });
    expect(res.statusCode).toBe(201);
    const { apiKey } = json<{ apiKey: string }>(res);
    const stored = await stack.pool.query('SELECT key_hash FROM api_keys WHERE client_id = $1', [a.id]);
    expect(stored.rows).toHaveLength(2);
    for (const r of stored.rows) expect([a.apiKey, apiKey]).not.toContain(r.key_hash);
    const ok = await stack.app.inject({ method: 'GET', url: `/v1/templates/${ids.template}`, headers: bearer(apiKey) });
    expect(ok.statusCode).toBe(200);
  });

  it('provider secrets are encrypted at rest and never echoed back', async () => {
    const name = `secret-${randomUUID()}`;
    const res = await stack.app.inject({
      method: 'POST', url: '/v1/providers', headers: bearer(stack.adminKey),
      payload: { name, kind: 'sendgrid', config: { apiKey: 'SG.super-secret-value' } },
    });
    expect(res.statusCode).toBe(201);
    expect(res.body).not.toContain('super-secret-value');
    const list = await stack.app.inject({ method: 'GET', url: '/v1/providers', headers: bearer(stack.adminKey) });
    expect(list.body).not.toContain('super-secret-value');
    const { rows } = await stack.pool.query('SELECT config_encrypted FROM provider_accounts WHERE name = $1', [name]);
    expect(rows[0].config_encrypted).toMatch(/^v1:/);
    expect(rows[0].config_encrypted).not.toContain('super-secret-value');
  });
});
