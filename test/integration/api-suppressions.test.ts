import { campaignWithLeads, newProvider } from '../helpers/campaign-fixture';
import { bearer, json, newClient, startStack, type Stack } from '../helpers/stack';

type Page = { items: { email: string; reason: string; createdAt: string }[]; nextCursor: string | null };

describe('GET/POST /v1/suppressions', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack?.close());

  it('adds addresses (lower-cased, de-duplicated), stops waiting leads, and pages with a cursor', async () => {
    const client = await newClient(stack);
    const provider = await newProvider(stack, 'smtp', { host: '127.0.0.1', port: 2525 });
    const c = await campaignWithLeads(stack, client, { providers: [provider.name], mailboxes: 1, leads: 2 });
    const auth = bearer(client.apiKey);
    const res = await stack.app.inject({ method: 'POST', url: '/v1/suppressions', headers: auth, payload: { emails: [c.emails[0]!.toUpperCase(), c.emails[0], 'a@x.example', 'b@x.example'] } });
    expect([res.statusCode, json(res)]).toEqual([201, { added: 3, alreadySuppressed: 0 }]);
    const again = await stack.app.inject({ method: 'POST', url: '/v1/suppressions', headers: auth, payload: { emails: ['a@x.example'] } });
    expect(json(again)).toEqual({ added: 0, alreadySuppressed: 1 });
    const { rows } = await stack.pool.query('SELECT email, status FROM leads WHERE campaign_id = $1 ORDER BY email', [c.campaignId]);
    expect(rows.map((r) => r.status)).toEqual(['suppressed', 'pending']);

    const first = json<Page>(await stack.app.inject({ method: 'GET', url: '/v1/suppressions?limit=2', headers: auth }));
    expect(first.items.map((i) => i.email)).toEqual(['a@x.example', 'b@x.example']);
    expect(first.items[0]!.reason).toBe('manual');
    const second = json<Page>(await stack.app.inject({ method: 'GET', url: `/v1/suppressions?limit=2&cursor=${first.nextCursor}`, headers: auth }));
    expect(second).toEqual({ items: [expect.objectContaining({ email: c.emails[0]!.toLowerCase() })], nextCursor: null });
  });

  it("another client's list is invisible; bad input is a 400 naming the field and writes nothing", async () => {
    const a = await newClient(stack);
    const b = await newClient(stack);
    await stack.app.inject({ method: 'POST', url: '/v1/suppressions', headers: bearer(a.apiKey), payload: { emails: ['only-a@x.example'] } });
    expect(json<Page>(await stack.app.inject({ method: 'GET', url: '/v1/suppressions', headers: bearer(b.apiKey) })).items).toEqual([]);

    const bad = await stack.app.inject({ method: 'POST', url: '/v1/suppressions', headers: bearer(b.apiKey), payload: { emails: ['ok@x.example', 'not-an-email'] } });
    expect(bad.statusCode).toBe(400);
    expect(json<{ error: { code: string; details: { path: string }[] } }>(bad).error).toMatchObject({ code: 'validation_failed', details: [expect.objectContaining({ path: 'emails.1' })] });
    expect((await stack.app.inject({ method: 'POST', url: '/v1/suppressions', headers: bearer(b.apiKey), payload: { emails: [] } })).statusCode).toBe(400);
    expect((await stack.app.inject({ method: 'POST', url: '/v1/suppressions', headers: bearer(b.apiKey), payload: { emails: ['x@y.example'], extra: 1 } })).statusCode).toBe(400);
    expect((await stack.app.inject({ method: 'GET', url: '/v1/suppressions?cursor=not%20a%20cursor%21', headers: bearer(b.apiKey) })).statusCode).toBe(400);
    expect(json<Page>(await stack.app.inject({ method: 'GET', url: '/v1/suppressions', headers: bearer(b.apiKey) })).items).toEqual([]);
    expect((await stack.app.inject({ method: 'GET', url: '/v1/suppressions' })).statusCode).toBe(401);
  });
});
