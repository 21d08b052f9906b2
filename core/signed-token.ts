import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * Signed tokens for links in emails: `<payload>.<mac>`, both base64url, the
 * MAC an HMAC-SHA256 of the payload under a key derived from CREDENTIALS_KEY
 * for one purpose (HKDF info `outreach/<purpose>/v1`), so API and worker agree
 * without another secret, and a token made for one purpose (an unsubscribe
 * link) never opens another (a tracking link). The payload is the caller's
 * (ids, never an address: links get logged and shared).
 */
export function tokenKey(credentialsKeyBase64: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(credentialsKeyBase64, 'base64'), Buffer.alloc(0), `outreach/${purpose}/v1`, 32));
}

/** `payload` is base64url already; the answer is `<payload>.<mac>`. */
export function signPayload(key: Buffer, payload: string): string {
  return `${payload}.${createHmac('sha256', key).update(payload).digest('base64url')}`;
}

/** The payload (still base64url) of a token whose MAC is right, else null; constant-time on the MAC. */
export function verifiedPayload(key: Buffer, token: string): string | null {
  const dot = token.indexOf('.');
  if (dot <= 0 || dot !== token.lastIndexOf('.')) return null;
  const payload = token.slice(0, dot);
  const mac = token.slice(dot + 1);
  if (!mac) return null;
  const expected = createHmac('sha256', key).update(payload).digest();
  const given = Buffer.from(mac, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  return payload;
}
