import { createHash, randomUUID } from 'node:crypto';
import { bearer, json, newClient, startStack, type Stack } from '../helpers/stack';

/**
 * Issue 11, point 4: keys can be listed (never the key or its hash), revoked
 * and given an expiry; a revoked or expired key is a 401 on the very next
 * request.
 */
interface KeyView {
  id: string;
  prefix: string;
  label: string | null;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

describe('API keys: list, expiry, revocation', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack?.close());

  const asOperator = () => bearer(stack.adminKey);
  const works = async (key: string) =>
    (await stack.app.inject({ method: 'GET', url: '/v1/templates', headers: bearer(key) })).statusCode;
  const addKey = async (clientId: string, payload?: object) => {
    const res = await stack.app.inject({ method: 'POST', url: `/v1/clients/${clientId}/keys`, headers: asOperator(), ...(payload ? { payload } : {}) });
    expect(res.statusCode).toBe(201);
    return json<{ id: string; apiKey: string; expiresAt: string | null; label: string | null }>(res);
  };
  const list = async (clientId: string, key = stack.adminKey) => {
    const res = await stack.app.inject({ method: 'GET', url: `/v1/clients/${clientId}/keys`, headers: bearer(key) });
    return { status: res.statusCode, body: res.body, items: res.statusCode === 200 ? json<{ items: KeyView[] }>(res).items : [] };
  };
  const keyRow = async (id: string) =>
    (await stack.pool.query('SELECT revoked_at, expires_at, last_used_at FROM api_keys WHERE id = $1', [id])).rows[0];

  it('lists a client\'s keys with id, prefix, label and times, never the key or its hash', async () => {
    const c = await newClient(stack);
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const second = await addKey(c.id, { expiresAt, label: 'ci deploys' });
    expect(second).toMatchObject({ expiresAt, label: 'ci deploys' });
    expect(await works(second.apiKey)).toBe(200);

    const { status, body, items } = await list(c.id);
    expect(status).toBe(200);
    expect(items).toHaveLength(2);
    const byId = new Map(items.map((k) => [k.id, k]));
    expect(byId.get(second.id)).toEqual({
      id: second.id,
      prefix: second.apiKey.slice(0, 10),
      label: 'ci deploys',
      createdAt: expect.any(String),
      expiresAt,
      revokedAt: null,
      lastUsedAt: expect.any(String),
    });
    for (const key of [c.apiKey, second.apiKey]) {
      expect(body).not.toContain(key);
      expect(body).not.toContain(createHash('sha256').update(key).digest('hex'));
    }
    const stored = await stack.pool.query('SELECT key_hash FROM api_keys WHERE client_id = $1', [c.id]);
    for (const r of stored.rows) expect([c.apiKey, second.apiKey]).not.toContain(r.key_hash);
  });

  it('a revoked key is a 401 on the next request; the client\'s other keys still work', async () => {
    const c = await newClient(stack);
    const k = await addKey(c.id);
    expect(await works(k.apiKey)).toBe(200);
    const res = await stack.app.inject({ method: 'DELETE', url: `/v1/clients/${c.id}/keys/${k.id}`, headers: asOperator() });
    expect(res.statusCode).toBe(200);
    expect(json<KeyView>(res)).toMatchObject({ id: k.id, revokedAt: expect.any(String) });
    expect((await keyRow(k.id)).revoked_at).toBeInstanceOf(Date);

    const refused = await stack.app.inject({ method: 'GET', url: '/v1/templates', headers: bearer(k.apiKey) });
    expect(refused.statusCode).toBe(401);
    expect(json(refused)).toMatchObject({ error: { code: 'unauthorized' } });
    expect(await works(c.apiKey)).toBe(200);
    expect((await list(c.id)).items.find((x) => x.id === k.id)?.revokedAt).toBe(json<KeyView>(res).revokedAt);

    // Revoking again changes nothing.
    const again = await stack.app.inject({ method: 'DELETE', url: `/v1/clients/${c.id}/keys/${k.id}`, headers: asOperator() });
    expect(again.statusCode).toBe(200);
    expect(json<KeyView>(again).revokedAt).toBe(json<KeyView>(res).revokedAt);
  });

  it('an expired key is a 401 at once, a key before its expiry works', async () => {
    const c = await newClient(stack);
    const k = await addKey(c.id, { expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
    expect(await works(k.apiKey)).toBe(200);
    // Its expiry passes (moved into the past rather than waited for).
    await stack.pool.query("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1", [k.id]);
    const refused = await stack.app.inject({ method: 'GET', url: '/v1/templates', headers: bearer(k.apiKey) });
    expect(refused.statusCode).toBe(401);
    expect(await works(c.apiKey)).toBe(200);
  });

  it.each([
    ['expiresAt in the past', { expiresAt: new Date(Date.now() - 60_000).toISOString() }, 'expiresAt'],
    ['expiresAt not a date', { expiresAt: 'tomorrow' }, 'expiresAt'],
    ['expiresAt without an offset', { expiresAt: '2099-01-01T00:00:00' }, 'expiresAt'],
    ['expiresAt a number', { expiresAt: 4102444800 }, 'expiresAt'],
    ['an empty label', { label: '' }, 'label'],
    ['an unknown field', { scopes: ['all'] }, 'scopes'],
  ])('a new key with %s is a 400 naming the field, and no key is made', async (_name, payload, field) => {
    const c = await newClient(stack);
    const res = await stack.app.inject({ method: 'POST', url: `/v1/clients/${c.id}/keys`, headers: asOperator(), payload });
    expect(res.statusCode).toBe(400);
    expect(json(res)).toMatchObject({ error: { code: 'validation_failed', details: [expect.objectContaining({ path: field })] } });
    expect((await stack.pool.query('SELECT count(*)::int AS n FROM api_keys WHERE client_id = $1', [c.id])).rows[0].n).toBe(1);
  });

  it('a client lists and revokes its own keys, and only its own; it cannot make keys', async () => {
    const a = await newClient(stack);
    const b = await newClient(stack);
    const a2 = await addKey(a.id);
    const b2 = await addKey(b.id);

    expect((await list(a.id, a.apiKey)).items.map((k) => k.id).sort()).toHaveLength(2);
    const foreignList = await list(b.id, a.apiKey);
    expect(foreignList.status).toBe(404);
    expect(foreignList.body).not.toContain(b2.id);

    // A's key on B's key, by B's path or by its own: 404, and B's key is untouched.
    for (const url of [`/v1/clients/${b.id}/keys/${b2.id}`, `/v1/clients/${a.id}/keys/${b2.id}`]) {
      const res = await stack.app.inject({ method: 'DELETE', url, headers: bearer(a.apiKey) });
      expect({ url, status: res.statusCode }).toEqual({ url, status: 404 });
    }
    expect((await keyRow(b2.id)).revoked_at).toBeNull();
    expect(await works(b2.apiKey)).toBe(200);

    const make = await stack.app.inject({ method: 'POST', url: `/v1/clients/${a.id}/keys`, headers: bearer(a.apiKey), payload: {} });
    expect(make.statusCode).toBe(404);

    // A revokes its second key with its first, then its first with itself.
    const own = await stack.app.inject({ method: 'DELETE', url: `/v1/clients/${a.id}/keys/${a2.id}`, headers: bearer(a.apiKey) });
    expect(own.statusCode).toBe(200);
    expect(await works(a2.apiKey)).toBe(401);
    const firstId = (await list(a.id)).items.find((k) => k.id !== a2.id)!.id;
    const self = await stack.app.inject({ method: 'DELETE', url: `/v1/clients/${a.id}/keys/${firstId}`, headers: bearer(a.apiKey) });
    expect(self.statusCode).toBe(200);
    expect(await works(a.apiKey)).toBe(401);
  });

  it('unknown client, unknown key and malformed ids', async () => {
    const c = await newClient(stack);
    expect((await list(randomUUID())).status).toBe(404);
    const unknownKey = await stack.app.inject({ method: 'DELETE', url: `/v1/clients/${c.id}/keys/${randomUUID()}`, headers: asOperator() });
    expect(unknownKey.statusCode).toBe(404);
    const bad = await stack.app.inject({ method: 'DELETE', url: `/v1/clients/${c.id}/keys/not-a-uuid`, headers: asOperator() });
    expect(bad.statusCode).toBe(400);
    expect(json(bad)).toMatchObject({ error: { details: [expect.objectContaining({ path: 'params.keyId' })] } });
    const noClient = await stack.app.inject({ method: 'POST', url: `/v1/clients/${randomUUID()}/keys`, headers: asOperator(), payload: {} });
    expect(noClient.statusCode).toBe(404);
  });

  it('a key is shown once: its creation answer, never again', async () => {
    const c = await newClient(stack);
    const k = await addKey(c.id);
    expect(k.apiKey).toMatch(/^oe_[A-Za-z0-9_-]{43}$/);
    const views = [
      await stack.app.inject({ method: 'GET', url: `/v1/clients/${c.id}/keys`, headers: asOperator() }),
      await stack.app.inject({ method: 'GET', url: `/v1/clients/${c.id}/keys`, headers: bearer(k.apiKey) }),
      await stack.app.inject({ method: 'DELETE', url: `/v1/clients/${c.id}/keys/${k.id}`, headers: asOperator() }),
    ];
    for (const v of views) {
      expect(v.statusCode).toBe(200);
      expect(v.body).not.toContain(k.apiKey);
    }
    expect(await keyRow(k.id)).toMatchObject({ revoked_at: expect.any(Date) });
  });
});
