import { createHash, createHmac } from 'node:crypto';
import { bearer, json, newClient, startStack, type Stack } from '../helpers/stack';

/**
 * Codec sign-in sessions (issue 11, point 6): a random, server-side,
 * expiring, revocable session per sign-in instead of a fixed HMAC of the
 * operator key; `Secure` from PUBLIC_BASE_URL, never from X-Forwarded-Proto.
 */
const sha256 = (v: string) => createHash('sha256').update(v, 'utf8').digest('hex');

async function signIn(s: Stack, headers: Record<string, string> = {}) {
  const res = await s.app.inject({ method: 'POST', url: '/codec/login', headers, payload: { key: s.adminKey } });
  expect(res.statusCode).toBe(200);
  const setCookie = String(res.headers['set-cookie']);
  const cookie = setCookie.split(';')[0]!;
  return { setCookie, cookie, token: cookie.slice(cookie.indexOf('=') + 1), body: json<{ expiresInSeconds: number }>(res) };
}

const decodeWith = (s: Stack, cookie: string) =>
  s.app.inject({ method: 'POST', url: '/codec/decode', headers: { cookie }, payload: { payloads: [] } });

describe('codec sessions', () => {
  let s: Stack;
  let https: Stack;

  beforeAll(async () => {
    const env = { CODEC_SESSION_SECONDS: '600', RATE_LIMIT_SIGN_IN_PER_IP: '100' };
    // Behind a proxy that is trusted, to show that even then X-Forwarded-Proto decides nothing.
    s = await startStack({ env: { ...env, PUBLIC_BASE_URL: 'http://127.0.0.1:3000', TRUST_PROXY: 'true' } });
    https = await startStack({ env: { ...env, PUBLIC_BASE_URL: 'https://api.example.test' } });
  });
  afterAll(async () => {
    await s?.close();
    await https?.close();
  });

  it('each sign-in is a new random session, stored only as a hash, that lasts CODEC_SESSION_SECONDS', async () => {
    const [a, b] = [await signIn(s), await signIn(s)];
    expect(a.token).not.toBe(b.token);
    expect(a.token).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(a.setCookie).toMatch(/; HttpOnly; SameSite=Lax; Path=\/codec; Max-Age=600(;|$)/);
    expect(a.body.expiresInSeconds).toBe(600);
    const { rows } = await s.pool.query<{ row: string; lifetime: number }>(
      `SELECT row_to_json(c)::text AS row, extract(epoch FROM expires_at - created_at)::int AS lifetime
         FROM codec_sessions c WHERE token_hash = ANY($1)`,
      [[sha256(a.token), sha256(b.token)]],
    );
    expect(rows).toHaveLength(2);
    for (const r of rows) {
      expect(r.lifetime).toBe(600);
      expect(r.row).not.toContain(a.token);
      expect(r.row).not.toContain(b.token);
    }
    for (const session of [a, b]) expect((await decodeWith(s, session.cookie)).statusCode).toBe(200);
  });

  it('the old fixed cookie (an HMAC of the operator key) opens nothing', async () => {
    const fixed = createHmac('sha256', s.adminKey).update('codec-session-v1').digest('base64url');
    expect((await decodeWith(s, `outreach_codec=${fixed}`)).statusCode).toBe(401);
  });

  it('an expired session is refused', async () => {
    const session = await signIn(s);
    expect((await decodeWith(s, session.cookie)).statusCode).toBe(200);
    const { rowCount } = await s.pool.query(
      `UPDATE codec_sessions SET created_at = now() - interval '601 seconds', expires_at = now() - interval '1 second' WHERE token_hash = $1`,
      [sha256(session.token)],
    );
    expect(rowCount).toBe(1);
    const res = await decodeWith(s, session.cookie);
    expect(res.statusCode).toBe(401);
    expect(json<{ error: { code: string } }>(res).error.code).toBe('unauthorized');
  });

  it('logout ends the session: its cookie is refused afterwards, other sessions go on', async () => {
    const [mine, other] = [await signIn(s), await signIn(s)];
    const out = await s.app.inject({ method: 'POST', url: '/codec/logout', headers: { cookie: mine.cookie } });
    expect(out.statusCode).toBe(200);
    expect(String(out.headers['set-cookie'])).toMatch(/^outreach_codec=; .*Max-Age=0/);
    expect((await decodeWith(s, mine.cookie)).statusCode).toBe(401);
    const { rows } = await s.pool.query<{ revoked: boolean }>('SELECT revoked_at IS NOT NULL AS revoked FROM codec_sessions WHERE token_hash = $1', [sha256(mine.token)]);
    expect(rows).toEqual([{ revoked: true }]);
    expect((await decodeWith(s, other.cookie)).statusCode).toBe(200);
  });

  it('the operator revokes every session at once; nobody else can', async () => {
    const [a, b] = [await signIn(s), await signIn(s)];
    const client = await newClient(s);
    for (const headers of [{}, { cookie: a.cookie }, bearer(client.apiKey)]) {
      expect((await s.app.inject({ method: 'DELETE', url: '/codec/sessions', headers })).statusCode).toBe(401);
    }
    expect((await decodeWith(s, a.cookie)).statusCode).toBe(200);
    const res = await s.app.inject({ method: 'DELETE', url: '/codec/sessions', headers: bearer(s.adminKey) });
    expect(res.statusCode).toBe(200);
    expect(json<{ revoked: number }>(res).revoked).toBeGreaterThanOrEqual(2);
    for (const session of [a, b]) expect((await decodeWith(s, session.cookie)).statusCode).toBe(401);
    // A new sign-in works again.
    expect((await decodeWith(s, (await signIn(s)).cookie)).statusCode).toBe(200);
  });

  it('Secure follows PUBLIC_BASE_URL; a spoofed X-Forwarded-Proto changes nothing', async () => {
    const spoofed = await signIn(s, { 'x-forwarded-proto': 'https' });
    expect(spoofed.setCookie).not.toMatch(/Secure/i);
    expect((await signIn(https)).setCookie).toMatch(/; Secure(;|$)/);
    expect((await signIn(https, { 'x-forwarded-proto': 'http' })).setCookie).toMatch(/; Secure(;|$)/);
  });
});
