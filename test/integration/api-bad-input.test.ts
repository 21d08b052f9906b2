import { bearer, json, newClient, startStack, type Stack } from '../helpers/stack';

const TABLES = ['clients', 'api_keys', 'provider_accounts', 'mailboxes', 'templates', 'campaigns', 'leads', 'sends'];

describe('bad input: API.md error format, 4xx, nothing written', () => {
  let stack: Stack;
  let client: { id: string; apiKey: string };

  beforeAll(async () => {
    stack = await startStack({ env: { API_BODY_LIMIT_BYTES: '4096' } });
    client = await newClient(stack);
  });
  afterAll(() => stack?.close());

  async function counts(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const t of TABLES) out[t] = (await stack.pool.query(`SELECT count(*)::int AS n FROM ${t}`)).rows[0].n;
    return out;
  }

  const operator = () => bearer(stack.adminKey);
  const asClient = () => bearer(client.apiKey);

  type Case = [string, () => { method: 'POST'; url: string; headers: Record<string, string>; payload: string | object }, number, string, string[]];
  const cases: Case[] = [
    ['invalid JSON', () => ({ method: 'POST', url: '/v1/clients', headers: { ...operator(), 'content-type': 'application/json' }, payload: '{"name": "x",' }), 400, 'invalid_json', []],
    ['wrong type', () => ({ method: 'POST', url: '/v1/clients', headers: operator(), payload: { name: 42 } }), 400, 'validation_failed', ['name']],
    ['unknown field', () => ({ method: 'POST', url: '/v1/clients', headers: operator(), payload: { name: 'ok', plan: 'gold' } }), 400, 'validation_failed', ['plan']],
    ['bad time zone', () => ({ method: 'POST', url: '/v1/clients', headers: operator(), payload: { name: 'ok', timezone: 'Mars/Olympus' } }), 400, 'validation_failed', ['timezone']],
    ['oversize body', () => ({ method: 'POST', url: '/v1/clients', headers: operator(), payload: { name: 'x'.repeat(10_000) } }), 413, 'payload_too_large', []],
    ['provider with a bad port', () => ({ method: 'POST', url: '/v1/providers', headers: operator(), payload: { name: 'p', kind: 'smtp', config: { host: 'h', port: 'twenty-five' } } }), 400, 'validation_failed', ['config.port']],
    ['provider of an unknown kind', () => ({ method: 'POST', url: '/v1/providers', headers: operator(), payload: { name: 'p', kind: 'carrier-pigeon', config: {} } }), 400, 'validation_failed', ['kind']],
    ['template missing text', () => ({ method: 'POST', url: '/v1/templates', headers: asClient(), payload: { name: 't', subject: 's' } }), 400, 'validation_failed', ['text']],
    ['campaign with a non-uuid template', () => ({ method: 'POST', url: '/v1/campaigns', headers: asClient(), payload: { name: 'c', steps: [{ templateId: 'nope', delayDays: 0 }], mailboxes: { pool: 'p' } } }), 400, 'validation_failed', ['steps.0.templateId']],
    ['campaign with no steps', () => ({ method: 'POST', url: '/v1/campaigns', headers: asClient(), payload: { name: 'c', steps: [], mailboxes: { pool: 'p' } } }), 400, 'validation_failed', ['steps']],
    // PostgreSQL text cannot hold U+0000: a 400 naming the field (the schema's pattern says so), never a 500 from the database.
    ['campaign name with a NUL', () => ({ method: 'POST', url: '/v1/campaigns', headers: asClient(), payload: { name: 'c\u0000d', steps: [{ templateId: '01a23306-c8ec-7780-bdf6-87b754915c9c', delayDays: 0 }], mailboxes: { pool: 'p' } } }), 400, 'validation_failed', ['name']],
    ['client name with a NUL', () => ({ method: 'POST', url: '/v1/clients', headers: operator(), payload: { name: 'a\u0000' } }), 400, 'validation_failed', ['name']],
    ['template name with a NUL', () => ({ method: 'POST', url: '/v1/templates', headers: asClient(), payload: { name: '\u0000t', subject: 's', text: 't {{unsubscribeUrl}}' } }), 400, 'validation_failed', ['name']],
    ['mailbox import with a wrong top-level shape', () => ({ method: 'POST', url: '/v1/mailboxes', headers: asClient(), payload: { mailboxes: 'all of them' } }), 400, 'validation_failed', ['mailboxes']],
    ['mailbox import where every row is bad', () => ({ method: 'POST', url: '/v1/mailboxes', headers: asClient(), payload: { mailboxes: [{ address: 'not-an-email', providers: ['x'] }, { address: 'a@b.co', providers: [], extra: 1 }] } }), 400, 'validation_failed', ['mailboxes.0.address', 'mailboxes.1.providers', 'mailboxes.1.extra']],
    ['mailbox import at a domain the client has not verified', () => ({ method: 'POST', url: '/v1/mailboxes', headers: asClient(), payload: { mailboxes: [{ address: 'ann@not-verified.example.com', providers: ['x'] }] } }), 422, 'domain_not_verified', ['mailboxes.0.address']],
  ];

  it.each(cases)('%s', async (_name, req, status, code, paths) => {
    const before = await counts();
    const res = await stack.app.inject(req());
    expect(res.statusCode).toBe(status);
    const body = json<{ error: { code: string; message: string; details?: { path: string; message: string }[] } }>(res);
    expect(body.error.code).toBe(code);
    expect(typeof body.error.message).toBe('string');
    const got = (body.error.details ?? []).map((d) => d.path);
    for (const p of paths) expect(got).toContain(p);
    expect(await counts()).toEqual(before);
  });

  it('an unknown route answers the error format', async () => {
    const res = await stack.app.inject({ method: 'GET', url: '/v1/nothing-here', headers: asClient() });
    expect(res.statusCode).toBe(404);
    expect(json(res)).toMatchObject({ error: { code: 'not_found' } });
  });

  it('a malformed id in the path is a 400 naming params.id, not a 500', async () => {
    const res = await stack.app.inject({ method: 'GET', url: '/v1/campaigns/not-a-uuid', headers: asClient() });
    expect(res.statusCode).toBe(400);
    expect(json(res)).toMatchObject({ error: { code: 'validation_failed', details: [{ path: 'params.id' }] } });
  });

  it('a bad cursor is a 400 naming query.cursor', async () => {
    const res = await stack.app.inject({ method: 'GET', url: '/v1/mailboxes?cursor=zzz', headers: asClient() });
    expect(res.statusCode).toBe(400);
    expect(json(res)).toMatchObject({ error: { details: [{ path: 'query.cursor' }] } });
  });

  it('a duplicate provider name is a 409 and the first account is unchanged', async () => {
    const payload = { name: `dup-${client.id}`, kind: 'smtp', config: { host: 'h', port: 25 } };
    expect((await stack.app.inject({ method: 'POST', url: '/v1/providers', headers: operator(), payload })).statusCode).toBe(201);
    const before = await counts();
    const res = await stack.app.inject({ method: 'POST', url: '/v1/providers', headers: operator(), payload });
    expect(res.statusCode).toBe(409);
    expect(json(res)).toMatchObject({ error: { code: 'conflict', details: [{ path: 'name' }] } });
    expect(await counts()).toEqual(before);
  });
});
