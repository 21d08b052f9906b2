import type { LightMyRequestResponse } from 'fastify';
import { createClient } from '../../db/repositories/clients';
import { bearer, eventually, json, newClient, startStack, type Stack } from '../helpers/stack';

/**
 * Rate limits (issue 11, point 5): per IP on every route, per API key, on the
 * codec sign-in, and on failed authentication. Each stack here sets small
 * limits so the tests are quick; the addresses are documentation ranges
 * (RFC 5737) given to inject as the socket's remote address: nothing is sent.
 */
type ErrorBody = { error: { code: string; message: string } };

function expect429(res: LightMyRequestResponse, windowSeconds: number): ErrorBody {
  expect(res.statusCode).toBe(429);
  const retryAfter = Number(res.headers['retry-after']);
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(windowSeconds);
  const body = json<ErrorBody>(res);
  expect(body).toEqual({ error: { code: 'rate_limited', message: expect.any(String) } });
  return body;
}

describe('rate limits', () => {
  const stacks: Stack[] = [];
  const stack = async (env: Record<string, string>) => {
    const s = await startStack({ env: { RATE_LIMIT_WINDOW_SECONDS: '60', ...env } });
    stacks.push(s);
    return s;
  };
  afterAll(async () => {
    for (const s of stacks) await s.close();
  });

  it('per IP: past RATE_LIMIT_PER_IP requests in the window, that address gets a 429 with Retry-After; another address does not', async () => {
    const s = await stack({ RATE_LIMIT_PER_IP: '3' });
    const from = (remoteAddress: string) => s.app.inject({ method: 'GET', url: '/healthz', remoteAddress });
    for (let i = 0; i < 3; i++) expect((await from('203.0.113.10')).statusCode).toBe(200);
    const refused = await from('203.0.113.10');
    expect(expect429(refused, 60).error.message).toMatch(/this address/);
    // Unauthenticated /v1 requests count too, and are cut before anything else looks at them.
    expect((await s.app.inject({ method: 'POST', url: '/v1/templates', remoteAddress: '203.0.113.10', payload: {} })).statusCode).toBe(429);
    expect((await from('203.0.113.11')).statusCode).toBe(200);
  });

  it('per key: past RATE_LIMIT_PER_KEY requests with one key, that key gets a 429 from any address; another key does not', async () => {
    const s = await stack({ RATE_LIMIT_PER_KEY: '3', RATE_LIMIT_PER_IP: '1000' });
    // Made in the database, so the operator key has not been used yet.
    const [a, b] = [await createClient(s.pool, { name: 'key-a' }), await createClient(s.pool, { name: 'key-b' })];
    const list = (key: string, remoteAddress: string) =>
      s.app.inject({ method: 'GET', url: '/v1/mailboxes', headers: bearer(key), remoteAddress });
    for (const ip of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) expect((await list(a.apiKey, ip)).statusCode).toBe(200);
    const refused = await list(a.apiKey, '198.51.100.4');
    expect(expect429(refused, 60).error.message).toMatch(/this API key/);
    expect((await list(b.apiKey, '198.51.100.4')).statusCode).toBe(200);
    // The operator key is a key like any other.
    const ops = (ip: string) => s.app.inject({ method: 'POST', url: '/v1/clients', headers: bearer(s.adminKey), remoteAddress: ip, payload: { name: `c-${ip}` } });
    for (const ip of ['198.51.100.5', '198.51.100.6', '198.51.100.7']) expect((await ops(ip)).statusCode).toBe(201);
    expect429(await ops('198.51.100.8'), 60);
  });

  it('codec sign-in: past RATE_LIMIT_SIGN_IN_PER_IP attempts, even the right operator key is a 429', async () => {
    const s = await stack({ RATE_LIMIT_SIGN_IN_PER_IP: '2', RATE_LIMIT_PER_IP: '1000' });
    const login = (remoteAddress: string) =>
      s.app.inject({ method: 'POST', url: '/codec/login', remoteAddress, payload: { key: s.adminKey } });
    expect((await login('192.0.2.20')).statusCode).toBe(200);
    expect((await login('192.0.2.20')).statusCode).toBe(200);
    const refused = await login('192.0.2.20');
    expect(expect429(refused, 60).error.message).toMatch(/sign-in/);
    expect(refused.headers['set-cookie']).toBeUndefined();
    expect((await login('192.0.2.21')).statusCode).toBe(200);
    // The login page itself is not a sign-in attempt.
    expect((await s.app.inject({ method: 'GET', url: '/codec/login', remoteAddress: '192.0.2.20' })).statusCode).toBe(200);
  });

  it('failed authentication: past RATE_LIMIT_AUTH_FAILURES_PER_IP 401s, that address is refused with a 429 before any database lookup, even with the right key', async () => {
    const s = await stack({ RATE_LIMIT_AUTH_FAILURES_PER_IP: '3', RATE_LIMIT_PER_IP: '1000' });
    const client = await newClient(s);
    const ip = '203.0.113.30';
    const wrong = (n: number) => bearer(`oe_wrong-key-${n}-${'x'.repeat(20)}`);
    // Three failures of three kinds: a wrong client key, a wrong key at the codec, a wrong operator key at sign-in.
    expect((await s.app.inject({ method: 'GET', url: '/v1/mailboxes', headers: wrong(1), remoteAddress: ip })).statusCode).toBe(401);
    expect((await s.app.inject({ method: 'POST', url: '/codec/decode', headers: wrong(2), remoteAddress: ip, payload: { payloads: [] } })).statusCode).toBe(401);
    expect((await s.app.inject({ method: 'POST', url: '/codec/login', remoteAddress: ip, payload: { key: 'not-the-operator-key' } })).statusCode).toBe(401);

    let checkouts = 0;
    s.pool.on('acquire', () => checkouts++);
    const right = await s.app.inject({ method: 'GET', url: '/v1/mailboxes', headers: bearer(client.apiKey), remoteAddress: ip });
    expect(expect429(right, 60).error.message).toMatch(/failed authentication/);
    for (let n = 0; n < 20; n++) {
      expect((await s.app.inject({ method: 'GET', url: '/v1/mailboxes', headers: wrong(100 + n), remoteAddress: ip })).statusCode).toBe(429);
    }
    expect((await s.app.inject({ method: 'POST', url: '/codec/login', remoteAddress: ip, payload: { key: s.adminKey } })).statusCode).toBe(429);
    expect(checkouts).toBe(0); // no key was looked up for any of them

    // Requests that authenticate nothing still pass (health checks, a recipient's unsubscribe page).
    expect((await s.app.inject({ method: 'GET', url: '/healthz', remoteAddress: ip })).statusCode).toBe(200);
    // Another address, the same key: accepted.
    expect((await s.app.inject({ method: 'GET', url: '/v1/mailboxes', headers: bearer(client.apiKey), remoteAddress: '203.0.113.31' })).statusCode).toBe(200);
  });

  it('failed authentication: once the window has passed, the right key is accepted again', async () => {
    const s = await stack({ RATE_LIMIT_AUTH_FAILURES_PER_IP: '2', RATE_LIMIT_PER_IP: '1000', RATE_LIMIT_WINDOW_SECONDS: '4' });
    const client = await newClient(s);
    const ip = '203.0.113.40';
    for (let n = 0; n < 2; n++) {
      expect((await s.app.inject({ method: 'GET', url: '/v1/mailboxes', headers: bearer(`oe_bad-${n}-${'y'.repeat(20)}`), remoteAddress: ip })).statusCode).toBe(401);
    }
    const get = () => s.app.inject({ method: 'GET', url: '/v1/mailboxes', headers: bearer(client.apiKey), remoteAddress: ip });
    expect429(await get(), 4);
    // Refused attempts with the right key do not extend the lockout: it ends with the window.
    await eventually(async () => (await get()).statusCode === 200, 20_000, 250);
  });

  it('TRUST_PROXY off (the default): X-Forwarded-For does not change the address the limiter counts', async () => {
    const s = await stack({ RATE_LIMIT_PER_IP: '2' });
    const via = (forwardedFor: string) =>
      s.app.inject({ method: 'GET', url: '/healthz', remoteAddress: '192.0.2.50', headers: { 'x-forwarded-for': forwardedFor } });
    expect((await via('198.51.100.101')).statusCode).toBe(200);
    expect((await via('198.51.100.102')).statusCode).toBe(200);
    expect429(await via('198.51.100.103'), 60);
  });

  it('TRUST_PROXY set to the proxy address: the limiter counts the client address the proxy forwards', async () => {
    const s = await stack({ RATE_LIMIT_PER_IP: '2', TRUST_PROXY: '192.0.2.60' });
    const via = (forwardedFor: string) =>
      s.app.inject({ method: 'GET', url: '/healthz', remoteAddress: '192.0.2.60', headers: { 'x-forwarded-for': forwardedFor } });
    for (const client of ['198.51.100.111', '198.51.100.112', '198.51.100.113']) expect((await via(client)).statusCode).toBe(200);
    expect((await via('198.51.100.111')).statusCode).toBe(200);
    expect429(await via('198.51.100.111'), 60);
    // A forwarded address from a peer that is not the trusted proxy is ignored.
    const direct = (ff: string) => s.app.inject({ method: 'GET', url: '/healthz', remoteAddress: '192.0.2.61', headers: { 'x-forwarded-for': ff } });
    expect((await direct('198.51.100.121')).statusCode).toBe(200);
    expect((await direct('198.51.100.122')).statusCode).toBe(200);
    expect429(await direct('198.51.100.123'), 60);
  });
});
