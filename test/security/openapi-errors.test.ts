import { bearer, json, newClient, startStack, type Stack } from '../helpers/stack';

type Operation = { responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> };
type Doc = { paths: Record<string, Record<string, Operation>> };
type ErrorBody = { error: { code: string; message: string; details?: { path: string; message: string }[] } };

/**
 * Every error a caller can meet is in the OpenAPI document, with the API.md
 * error schema; a known path called with a method it does not take is a 405
 * naming the methods it does; a malformed path is a 400 in the same format.
 * (test/security/openapi-conformance.test.ts fuzzes the same contract.)
 */
describe('the OpenAPI document lists every error response', () => {
  let stack: Stack;
  let doc: Doc;
  let clientKey: string;

  beforeAll(async () => {
    stack = await startStack();
    clientKey = (await newClient(stack)).apiKey;
    doc = json<Doc>(await stack.app.inject({ method: 'GET', url: '/docs/json' }));
  });
  afterAll(() => stack?.close());

  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, op })));

  it('documents 401, 429 and 500 with the error schema on every authenticated operation, and 400 wherever there is input', () => {
    const missing: string[] = [];
    for (const { name, op } of operations()) {
      const codes = Object.keys(op.responses ?? {});
      const want = ['401', '429', '500', ...(name.includes('{') ? ['400', '404'] : [])];
      for (const c of want) if (!codes.includes(c)) missing.push(`${name}: ${c}`);
      for (const c of codes.filter((k) => /^[45]/.test(k))) {
        const schema = JSON.stringify(op.responses![c]!.content?.['application/json']?.schema ?? {});
        if (!schema.includes('"error"') || !schema.includes('"code"') || !schema.includes('"message"')) missing.push(`${name}: ${c} without the error schema`);
      }
      if (!codes.some((k) => /^2/i.test(k))) missing.push(`${name}: no success response`);
    }
    expect(operations().length).toBeGreaterThan(20);
    expect(missing).toEqual([]);
  });

  it('documents the 409 a state conflict answers', () => {
    expect(Object.keys(doc.paths['/v1/campaigns/{id}/start']!.post!.responses!)).toContain('409');
    expect(Object.keys(doc.paths['/v1/providers']!.post!.responses!)).toContain('409');
    expect(Object.keys(doc.paths['/v1/domains']!.post!.responses!)).toContain('409');
    expect(Object.keys(doc.paths['/v1/domains/{id}/verify']!.post!.responses!)).toContain('422');
    expect(Object.keys(doc.paths['/v1/mailboxes']!.post!.responses!)).toContain('422');
    // Issue 13: edits of a started campaign, a template a live campaign uses, a complaint without force.
    expect(Object.keys(doc.paths['/v1/campaigns/{id}']!.patch!.responses!)).toContain('409');
    expect(Object.keys(doc.paths['/v1/campaigns/{id}']!.delete!.responses!)).toContain('409');
    expect(Object.keys(doc.paths['/v1/templates/{id}']!.delete!.responses!)).toContain('409');
    expect(Object.keys(doc.paths['/v1/suppressions/{email}']!.delete!.responses!)).toEqual(expect.arrayContaining(['403', '409']));
  });

  it('marks a body optional only where the route takes none, and never answers 413 to a body the schema allows', async () => {
    const keys = doc.paths['/v1/clients/{id}/keys']!.post as Operation & { requestBody?: { required?: boolean } };
    expect(keys.requestBody?.required).toBe(false);
    const templates = doc.paths['/v1/templates']!.post as Operation & { requestBody?: { required?: boolean } };
    expect(templates.requestBody?.required).toBe(true);
    // 10,000 addresses of 254 characters: the most POST /v1/suppressions allows, over 2.5 MB.
    const emails = Array.from({ length: 10_000 }, (_, i) => `${String(i).padStart(5, '0')}${'a'.repeat(58)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(54)}.example`);
    expect(emails[0]!.length).toBe(254);
    const res = await stack.app.inject({ method: 'POST', url: '/v1/suppressions', headers: bearer(clientKey), payload: { emails } });
    expect(res.statusCode).toBe(201);
    expect(json<{ added: number }>(res).added).toBe(10_000);
  });

  it('answers 405 with Allow for a known path called with another method (TRACE, QUERY, PUT)', async () => {
    for (const method of ['TRACE', 'PUT', 'DELETE'] as const) {
      const res = await stack.app.inject({ method, url: '/v1/templates', headers: bearer(clientKey) });
      expect({ method, status: res.statusCode, allow: res.headers.allow }).toEqual({ method, status: 405, allow: 'GET, HEAD, POST' });
      expect(json<ErrorBody>(res).error.code).toBe('method_not_allowed');
    }
    const query = await stack.app.inject({ method: 'QUERY' as 'GET', url: `/v1/campaigns/${'0'.repeat(8)}-0000-4000-8000-000000000000`, headers: bearer(clientKey) });
    expect(query.statusCode).toBe(405);
    expect(query.headers.allow).toBe('DELETE, GET, HEAD, PATCH'); // a draft is edited and deleted there (issue 13)
  });

  it('still answers 404 in the error format for a path no route has', async () => {
    const res = await stack.app.inject({ method: 'GET', url: '/v1/nothing-here', headers: bearer(clientKey) });
    expect(res.statusCode).toBe(404);
    expect(json<ErrorBody>(res).error.code).toBe('not_found');
  });

  it('answers a path parameter past the router limit with a 400 in the error format, not Fastify\'s own body', async () => {
    const res = await stack.app.inject({ method: 'GET', url: `/v1/campaigns/${'a'.repeat(500)}`, headers: bearer(clientKey) });
    expect(res.statusCode).toBe(400);
    expect(json<ErrorBody>(res).error).toMatchObject({ code: 'invalid_path', details: [{ path: 'path' }] });
  });
});
