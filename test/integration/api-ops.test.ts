import { Writable } from 'node:stream';
import { buildApp } from '../../api/app';
import { SecretBox } from '../../core/crypto';
import { createLogger } from '../../core/logger';
import { createPool } from '../../db/pool';
import { bearer, json, newClient, newSmtpProvider, startStack, type Stack } from '../helpers/stack';

describe('health, readiness, OpenAPI and log redaction', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack?.close());

  it('/healthz answers without auth', async () => {
    const res = await stack.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(json(res)).toEqual({ status: 'ok' });
  });

  it('/readyz reports Postgres and Temporal reachable', async () => {
    const res = await stack.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(json(res)).toEqual({ status: 'ready', checks: { postgres: 'ok', temporal: 'ok' } });
  });

  it('/readyz is 503 naming Postgres when the database is gone', async () => {
    const deadPool = createPool('postgres://nobody:nothing@127.0.0.1:1/none', 1);
    const app = await buildApp({ config: stack.config, pool: deadPool, temporal: stack.temporal, box: new SecretBox(stack.config.CREDENTIALS_KEY!) });
    try {
      const res = await app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(503);
      const body = json<{ checks: { postgres: string; temporal: string } }>(res);
      expect(body.checks.temporal).toBe('ok');
      expect(body.checks.postgres).not.toBe('ok');
    } finally {
      await app.close();
      await deadPool.end();
    }
  });

  it('serves an OpenAPI document at /docs/json with the v1 routes', async () => {
    const res = await stack.app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = json<{ openapi: string; paths: Record<string, unknown> }>(res);
    expect(doc.openapi).toMatch(/^3\./);
    for (const p of ['/v1/clients', '/v1/providers', '/v1/mailboxes', '/v1/templates', '/v1/campaigns', '/v1/campaigns/{id}/start']) {
      expect(Object.keys(doc.paths)).toContain(p);
    }
    const ui = await stack.app.inject({ method: 'GET', url: '/docs' });
    expect([200, 302]).toContain(ui.statusCode);
  });

  it('logs never carry the Authorization header, provider credentials or recipient addresses', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const logger = createLogger('trace', sink);
    const app = await buildApp(
      { config: stack.config, pool: stack.pool, temporal: stack.temporal, box: new SecretBox(stack.config.CREDENTIALS_KEY!) },
      { logger },
    );
    try {
      const client = await newClient({ ...stack, app });
      await newSmtpProvider({ ...stack, app }, 2525);
      const tpl = await app.inject({ method: 'POST', url: '/v1/templates', headers: bearer(client.apiKey), payload: { name: 't', subject: 's', text: 'x {{unsubscribeUrl}}' } });
      const camp = await app.inject({
        method: 'POST', url: '/v1/campaigns', headers: bearer(client.apiKey),
        payload: { name: 'c', steps: [{ templateId: json(tpl).id, delayDays: 0 }], mailboxes: { pool: 'p' } },
      });
      await app.inject({
        method: 'POST', url: `/v1/campaigns/${json(camp).id}/leads`, headers: bearer(client.apiKey),
        payload: { leads: [{ email: 'private.person@recipient.example' }] },
      });
      // And a direct call shaped like what activities log.
      logger.info({ to: 'private.person@recipient.example', config: { pass: 'relay-secret-pass' } }, 'send attempt');
    } finally {
      await app.close();
    }
    const all = lines.join('');
    expect(lines.length).toBeGreaterThan(5);
    expect(all).toContain('[redacted]');
    expect(all).not.toContain(stack.adminKey);
    expect(all).not.toMatch(/Bearer oe_/);
    expect(all).not.toContain('relay-secret-pass');
    expect(all).not.toContain('private.person@recipient.example');
  });
});
