import { X509Certificate, verify } from 'node:crypto';

/**
 * Amazon SNS HTTP(S) message signatures, pure: parsing, the string to sign,
 * the signing-certificate host rule and the RSA check (SignatureVersion 1 is
 * SHA1withRSA, 2 is SHA256withRSA). Fetching the certificate is the caller's.
 * https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
 */

export type SnsType = 'Notification' | 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';

export interface SnsMessage {
  Type: SnsType;
  MessageId: string;
  TopicArn: string;
  Message: string;
  Timestamp: string;
  SignatureVersion: '1' | '2';
  Signature: string;
  SigningCertURL: string;
  Subject?: string;
  SubscribeURL?: string;
  Token?: string;
  UnsubscribeURL?: string;
}

export const SNS_HOST = /^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/;

/** True for https://sns.<region>.amazonaws.com[.cn]/… with no port, user or password. */
export function isSnsUrl(raw: string | undefined): boolean {
  if (!raw) return false;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return false;
  }
  return u.protocol === 'https:' && u.port === '' && u.username === '' && u.password === '' && SNS_HOST.test(u.hostname);
}

const str = (v: unknown): v is string => typeof v === 'string';

/** The message, or a reason it is not a well-formed SNS message. */
export function parseSnsMessage(text: string): { ok: true; message: SnsMessage } | { ok: false; reason: string } {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { ok: false, reason: 'body is not JSON' };
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, reason: 'body is not an object' };
  const type = raw.Type;
  if (type !== 'Notification' && type !== 'SubscriptionConfirmation' && type !== 'UnsubscribeConfirmation') {
    return { ok: false, reason: 'Type: not an SNS message type' };
  }
  for (const field of ['MessageId', 'TopicArn', 'Message', 'Timestamp', 'Signature', 'SigningCertURL'] as const) {
    if (!str(raw[field])) return { ok: false, reason: `${field}: missing` };
  }
  if (raw.SignatureVersion !== '1' && raw.SignatureVersion !== '2') return { ok: false, reason: 'SignatureVersion: must be 1 or 2' };
  if (type !== 'Notification' && (!str(raw.SubscribeURL) || !str(raw.Token))) {
    return { ok: false, reason: 'SubscribeURL and Token: required on subscription messages' };
  }
  if (raw.Subject !== undefined && raw.Subject !== null && !str(raw.Subject)) return { ok: false, reason: 'Subject: not a string' };
  return { ok: true, message: raw as unknown as SnsMessage };
}

/** The canonical string SNS signs: selected fields as "Name\nvalue\n", in byte order of the names. */
export function snsStringToSign(m: SnsMessage): string {
  const fields: (keyof SnsMessage)[] =
    m.Type === 'Notification'
      ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
      : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  let out = '';
  for (const f of fields) {
    const v = m[f];
    if (v === undefined || v === null) continue; // Subject is signed only when present
    out += `${f}\n${v}\n`;
  }
  return out;
}

/**
 * Checks the message's signature with the certificate (PEM) from its
 * SigningCertURL. False for a bad signature, an unusable certificate or one
 * outside its validity period at `now`.
 */
export function verifySnsSignature(m: SnsMessage, certificatePem: string, now = new Date()): boolean {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certificatePem);
  } catch {
    return false;
  }
  if (now < new Date(cert.validFrom) || now > new Date(cert.validTo)) return false;
  const algorithm = m.SignatureVersion === '1' ? 'sha1' : 'sha256';
  const signature = Buffer.from(m.Signature, 'base64');
  if (signature.length === 0) return false;
  try {
    return verify(algorithm, Buffer.from(snsStringToSign(m), 'utf8'), cert.publicKey, signature);
  } catch {
    return false;
  }
}
