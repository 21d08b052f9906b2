import { createPublicKey, verify, type KeyObject } from 'node:crypto';

/**
 * SendGrid's signed event webhook: an ECDSA P-256 / SHA-256 signature
 * (ASN.1 DER, base64) over the timestamp header followed by the raw body.
 * Headers: X-Twilio-Email-Event-Webhook-Signature and -Timestamp.
 */
export const SENDGRID_SIGNATURE_HEADER = 'x-twilio-email-event-webhook-signature';
export const SENDGRID_TIMESTAMP_HEADER = 'x-twilio-email-event-webhook-timestamp';

/** The verification key as SendGrid shows it (base64 DER SubjectPublicKeyInfo) or as PEM. */
export function sendgridPublicKey(value: string): KeyObject {
  const v = value.trim();
  return v.includes('BEGIN PUBLIC KEY')
    ? createPublicKey(v)
    : createPublicKey({ key: Buffer.from(v, 'base64'), format: 'der', type: 'spki' });
}

export type SignatureVerdict = { ok: true } | { ok: false; reason: string };

export function verifySendgridSignature(
  key: KeyObject,
  input: { signature: string | undefined; timestamp: string | undefined; rawBody: Buffer },
  opts: { nowMs: number; maxAgeSeconds: number },
): SignatureVerdict {
  const { signature, timestamp, rawBody } = input;
  if (!signature || !timestamp) return { ok: false, reason: 'signature or timestamp header missing' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'timestamp is not epoch seconds' };
  const ageSeconds = opts.nowMs / 1000 - Number(timestamp);
  if (ageSeconds > opts.maxAgeSeconds) return { ok: false, reason: 'timestamp too old' };
  if (ageSeconds < -300) return { ok: false, reason: 'timestamp in the future' };
  const sig = Buffer.from(signature, 'base64');
  if (sig.length === 0) return { ok: false, reason: 'signature is empty' };
  try {
    const data = Buffer.concat([Buffer.from(timestamp, 'utf8'), rawBody]);
    return verify('sha256', data, { key, dsaEncoding: 'der' }, sig) ? { ok: true } : { ok: false, reason: 'signature mismatch' };
  } catch {
    return { ok: false, reason: 'signature malformed' };
  }
}
