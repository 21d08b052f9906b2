import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SignatureVerdict } from './sendgrid';

/**
 * Mailgun webhook signatures: hex HMAC-SHA256 of timestamp + token under the
 * HTTP webhook signing key. Freshness is checked here; a token seen before is
 * refused by the caller (it keeps the seen tokens in PostgreSQL).
 */
export interface MailgunSignature {
  timestamp: string;
  token: string;
  signature: string;
}

export function readMailgunSignature(body: unknown): MailgunSignature | null {
  const s = (body as { signature?: Record<string, unknown> } | null)?.signature;
  if (!s || typeof s !== 'object') return null;
  const { timestamp, token, signature } = s;
  if (typeof timestamp !== 'string' || typeof token !== 'string' || typeof signature !== 'string') return null;
  return { timestamp, token, signature };
}

export function verifyMailgunSignature(
  signingKey: string,
  s: MailgunSignature,
  opts: { nowMs: number; maxAgeSeconds: number },
): SignatureVerdict {
  if (!/^\d{1,12}$/.test(s.timestamp)) return { ok: false, reason: 'timestamp is not epoch seconds' };
  if (s.token.length < 10 || s.token.length > 200) return { ok: false, reason: 'token length out of range' };
  if (Math.abs(opts.nowMs / 1000 - Number(s.timestamp)) > opts.maxAgeSeconds) return { ok: false, reason: 'timestamp outside the allowed age' };
  if (!/^[0-9a-f]{64}$/i.test(s.signature)) return { ok: false, reason: 'signature is not 64 hex digits' };
  const expected = createHmac('sha256', signingKey).update(s.timestamp + s.token).digest();
  const given = Buffer.from(s.signature, 'hex');
  return timingSafeEqual(expected, given) ? { ok: true } : { ok: false, reason: 'signature mismatch' };
}
