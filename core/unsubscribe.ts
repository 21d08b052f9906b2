import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * Unsubscribe tokens: `<payload>.<mac>` (base64url), where the payload names
 * the client and the lead (never the address: links get logged and shared)
 * and the MAC is HMAC-SHA256 under a key derived from CREDENTIALS_KEY, so API
 * and worker agree without another secret.
 */
export function unsubscribeKey(credentialsKeyBase64: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(credentialsKeyBase64, 'base64'), Buffer.alloc(0), 'outreach/unsubscribe/v1', 32));
}

export function makeUnsubscribeToken(key: Buffer, clientId: string, leadId: string): string {
  const payload = Buffer.from(JSON.stringify([clientId, leadId]), 'utf8').toString('base64url');
  const mac = createHmac('sha256', key).update(payload).digest('base64url');
  return `${payload}.${mac}`;
}

export function readUnsubscribeToken(key: Buffer, token: string): { clientId: string; leadId: string } | null {
  const [payload, mac] = token.split('.');
  if (!payload || !mac) return null;
  const expected = createHmac('sha256', key).update(payload).digest();
  const given = Buffer.from(mac, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  try {
    const [clientId, leadId] = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as [string, string];
    return typeof clientId === 'string' && typeof leadId === 'string' ? { clientId, leadId } : null;
  } catch {
    return null;
  }
}

/** RFC 8058 one-click headers: an HTTPS link, and the one-line List-Unsubscribe-Post. */
export function listUnsubscribeHeaders(publicBaseUrl: string, token: string): Record<string, string> {
  return {
    'List-Unsubscribe': `<${publicBaseUrl.replace(/\/$/, '')}/u/${token}>`,
    'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
  };
}
