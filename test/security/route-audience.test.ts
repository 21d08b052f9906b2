import Fastify from 'fastify';
import { registerAuth, routeTable } from '../../api/plugins/auth';
import { fillPath } from '../helpers/routes';
import { bearer, startStack, type Stack } from '../helpers/stack';

/**
 * Issue 11, point 1: every route declares who may call it, and the route
 * table is walked here, so a route added without an audience fails the suite
 * (and stops start-up: buildApp refuses it).
 */
const AUDIENCES = ['operator', 'client', 'any', 'webhook', 'public'];

describe('route table: every route declares its audience', () => {
  let stack: Stack;
  beforeAll(async () => {
    // Hundreds of refused keys from one address on purpose: the failed-authentication lockout (rate-limit.test.ts) out of the way.
    stack = await startStack({ env: { RATE_LIMIT_AUTH_FAILURES_PER_IP: '1000000' } });
  });
  afterAll(() => stack?.close());

  it('every registered route declares one of operator, client, any, webhook, public', () => {
    const table = routeTable(stack.app);
    expect(table.length).toBeGreaterThan(30);
    expect(table.filter((r) => !AUDIENCES.includes(r.auth as string)).map((r) => `${r.method} ${r.url}: ${String(r.auth)}`)).toEqual([]);
  });

  it('the table holds every route the OpenAPI document lists (it is collected before any route is registered)', () => {
    const table = new Set(routeTable(stack.app).map((r) => `${r.method} ${r.url}`));
    const doc = (stack.app as unknown as { swagger(): { paths: Record<string, Record<string, unknown>> } }).swagger();
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`),
    );
    expect(documented.length).toBeGreaterThan(20);
    expect(documented.filter((r) => !table.has(r))).toEqual([]);
    for (const r of ['GET /docs', 'GET /docs/json', 'POST /webhooks/ses', 'GET /healthz']) expect(table).toContain(r);
  });

  it('no /v1 route is public or a webhook, and the provider webhooks are webhook routes', () => {
    const table = routeTable(stack.app);
    expect(table.filter((r) => r.url.startsWith('/v1') && (r.auth === 'public' || r.auth === 'webhook'))).toEqual([]);
    const hooks = table.filter((r) => r.url.startsWith('/webhooks/'));
    expect(hooks.map((r) => r.url).sort()).toEqual([
      '/webhooks/mailgun', '/webhooks/mailgun/inbound-mime', '/webhooks/sendgrid', '/webhooks/sendgrid/inbound/:token', '/webhooks/ses', '/webhooks/ses/inbound',
    ]);
    expect(hooks.every((r) => r.auth === 'webhook')).toBe(true);
    expect(table.filter((r) => r.auth === 'webhook' && !r.url.startsWith('/webhooks/'))).toEqual([]);
  });

  it('every operator, client and any route answers 401 to no key, a malformed header or an unknown key, before its body', async () => {
    const wrong: string[] = [];
    const guarded = routeTable(stack.app).filter((r) => ['operator', 'client', 'any'].includes(r.auth as string));
    expect(guarded.length).toBeGreaterThan(20);
    for (const route of guarded) {
      for (const headers of [{}, { authorization: 'Basic YTpi' }, bearer('oe_' + 'x'.repeat(43)), bearer(stack.adminKey + 'x')]) {
        const hasBody = route.method !== 'GET' && route.method !== 'HEAD';
        const res = await stack.app.inject({
          method: route.method as 'GET',
          url: fillPath(route.url),
          headers: { ...headers, ...(hasBody ? { 'content-type': 'application/json' } : {}) },
          ...(hasBody ? { payload: '{"not json' } : {}),
        });
        if (res.statusCode !== 401) wrong.push(`${route.method} ${route.url} ${JSON.stringify(headers)}: ${res.statusCode}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('a route registered without an audience, or with an unknown one, stops start-up naming it', async () => {
    const app = Fastify();
    registerAuth(app, { pool: stack.pool, adminApiKey: stack.adminKey });
    app.get('/v1/declared', { config: { auth: 'client' } }, async () => ({}));
    app.get('/v1/forgotten', async () => ({}));
    void app.register(async (scope) => {
      scope.post('/v1/nested/forgotten', async () => ({}));
      scope.post('/v1/misspelled', { config: { auth: 'clients' as never } }, async () => ({}));
    });
    const ready = app.ready();
    await expect(ready).rejects.toThrow(/GET \/v1\/forgotten/);
    await expect(ready).rejects.toThrow(/POST \/v1\/nested\/forgotten/);
    await expect(ready).rejects.toThrow(/POST \/v1\/misspelled/);
    await expect(ready).rejects.not.toThrow(/\/v1\/declared/);
    await app.close().catch(() => undefined);
  });
});
