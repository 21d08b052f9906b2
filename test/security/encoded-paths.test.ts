import { routeTable, type RouteEntry } from '../../api/plugins/auth';
import { fillPath, rawRequest, type RawAnswer } from '../helpers/routes';
import { bearer, newClient, startStack, type Stack } from '../helpers/stack';

/**
 * Issue 11, point 1: the audience comes from the route the router matched,
 * never from the URL text. The router decodes percent-escapes (`/%761/…` is
 * `/v1/…`), so every spelling it accepts must meet the same check, before the
 * body is read: a body that would fail validation still answers 401.
 */

const pct = (c: string, upper = false) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0')[upper ? 'toUpperCase' : 'toLowerCase']();
const segments = (path: string) => path.split('/').slice(1);
const join = (parts: string[]) => '/' + parts.join('/');
const errorMessage = (body: string): string => {
  try {
    return String((JSON.parse(body) as { error?: { message?: string } }).error?.message ?? '');
  } catch {
    return '';
  }
};

/** Spellings find-my-way decodes to the same path. */
const decodedVariants: [string, (p: string) => string][] = [
  ['first letter escaped', (p) => '/' + pct(p[1]!) + p.slice(2)],
  ['first letter of every segment escaped', (p) => join(segments(p).map((s) => (s ? pct(s[0]!) + s.slice(1) : s)))],
  ['every character escaped (upper-case hex)', (p) => join(segments(p).map((s) => [...s].map((c) => pct(c, true)).join('')))],
  ['with a query string', (p) => p + '?x=1'],
];

/** Spellings a router may or may not accept, depending on its options. */
const otherVariants: [string, (p: string) => string][] = [
  ['upper-case first segment', (p) => join([segments(p)[0]!.toUpperCase(), ...segments(p).slice(1)])],
  ['upper-case path', (p) => p.toUpperCase()],
  ['trailing slash', (p) => p + '/'],
  ['leading double slash', (p) => '/' + p],
  ['inner double slash', (p) => join([segments(p)[0]!, '', ...segments(p).slice(1)])],
  ['matrix parameter at the end', (p) => p + ';x=1'],
  ['matrix parameter in the first segment', (p) => join([segments(p)[0]! + ';x=1', ...segments(p).slice(1)])],
  ['dot segment', (p) => join([segments(p)[0]!, '.', ...segments(p).slice(1)])],
  ['dot-dot segment', (p) => join(['x', '..', ...segments(p)])],
  ['escaped slash', (p) => '/' + segments(p)[0]! + '%2F' + segments(p).slice(1).join('/')],
  ['backslash', (p) => '/' + segments(p)[0]! + '\\' + segments(p).slice(1).join('\\')],
  ['escaped semicolon', (p) => p + '%3Bx'],
];

const BAD_JSON = '{"name": ';

describe('encoded paths: no key is a 401 before the body, whatever the spelling', () => {
  let stack: Stack;
  let client: { id: string; apiKey: string };
  let routes: RouteEntry[];

  beforeAll(async () => {
    stack = await startStack();
    await stack.app.listen({ host: '127.0.0.1', port: 0 });
    client = await newClient(stack);
    routes = routeTable(stack.app).filter((r) => r.auth !== 'public' && r.auth !== 'webhook' && r.method !== 'OPTIONS');
  });
  afterAll(() => stack?.close());

  const templateCount = async () => (await stack.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM templates')).rows[0]!.n;
  const expectError = (res: RawAnswer, status: number, code: string) => {
    expect({ status: res.status, code: (JSON.parse(res.body) as { error?: { code?: string } }).error?.code }).toEqual({ status, code });
  };

  it('POST /%761/templates with no key and a template that fails validation is a 401, and nothing is stored', async () => {
    const before = await templateCount();
    const res = await rawRequest(stack.app, {
      method: 'POST',
      path: '/%761/templates',
      body: JSON.stringify({ name: 't', subject: 's', text: 'no unsubscribe link here' }),
    });
    expectError(res, 401, 'unauthorized');
    expect(await templateCount()).toBe(before);
  });

  it('a body past the size limit with no key is a 401, not a 413: the body is never read', async () => {
    const big = JSON.stringify({ name: 't', subject: 's', text: 'x'.repeat(2 * stack.config.API_BODY_LIMIT_BYTES) });
    for (const url of ['/v1/templates', '/%761/templates']) {
      const res = await stack.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: big });
      expect({ url, status: res.statusCode }).toEqual({ url, status: 401 });
    }
  });

  it('every non-public route, in every spelling the router decodes, answers 401 to no key and an unparsable body', async () => {
    expect(routes.length).toBeGreaterThan(20);
    const wrong: string[] = [];
    for (const route of routes) {
      const path = fillPath(route.url);
      for (const [name, spell] of [['as registered', (p: string) => p] as [string, (p: string) => string], ...decodedVariants]) {
        const body = route.method === 'GET' || route.method === 'HEAD' ? undefined : BAD_JSON;
        const res = await rawRequest(stack.app, { method: route.method, path: spell(path), body });
        if (res.status !== 401) wrong.push(`${route.method} ${spell(path)} (${route.url}, ${name}): ${res.status} ${res.body.slice(0, 80).replace(/\s+/g, " ")}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('spellings the router may refuse: 404 for no key exactly when a valid key gets "no route", else 401', async () => {
    const wrong: string[] = [];
    for (const route of routes) {
      const path = fillPath(route.url);
      const key = route.auth === 'operator' ? stack.adminKey : client.apiKey;
      const body = route.method === 'GET' || route.method === 'HEAD' ? undefined : BAD_JSON;
      for (const [name, spell] of otherVariants) {
        const spelled = spell(path);
        // HEAD answers carry no body: probe with the GET the router pairs it with.
        const probe = route.method === 'HEAD' ? 'GET' : route.method;
        const withKey = await rawRequest(stack.app, { method: probe, path: spelled, headers: bearer(key), body });
        const unmatched = withKey.status === 404 && /^no route /.test(errorMessage(withKey.body));
        const expected = unmatched ? 404 : 401;
        const res = await rawRequest(stack.app, { method: route.method, path: spelled, body });
        if (res.status !== expected) wrong.push(`${route.method} ${spelled} (${route.url}, ${name}): ${res.status}, expected ${expected}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('an unknown route is a 404 with or without a key, in any spelling, and its body is not read', async () => {
    for (const path of ['/v1/nope', '/%761/nope', '/v1/templates/extra/segments', '//v1/templates', '/v2/templates', '/nope']) {
      for (const headers of [{}, bearer(client.apiKey), bearer(stack.adminKey)]) {
        const res = await rawRequest(stack.app, { method: 'POST', path, headers, body: BAD_JSON });
        expect({ path, status: res.status }).toEqual({ path, status: 404 });
        expect(JSON.parse(res.body)).toEqual({ error: { code: 'not_found', message: expect.stringMatching(/^no route POST /) } });
      }
    }
  });

  it('the codec endpoint refuses no key before its body in an escaped spelling too', async () => {
    for (const path of ['/codec/decode', '/codec/%64ecode', '/%63odec/encode']) {
      const res = await rawRequest(stack.app, { method: 'POST', path, body: BAD_JSON });
      expect({ path, status: res.status }).toEqual({ path, status: 401 });
    }
  });
});
