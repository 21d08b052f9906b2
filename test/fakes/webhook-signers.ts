import { createHmac, generateKeyPairSync, randomBytes, randomUUID, sign, type KeyObject } from 'node:crypto';
import { snsStringToSign, type SnsMessage } from '../../core/webhooks/sns';

/**
 * Test signers for provider webhooks, with keys made at runtime: real crypto,
 * so the API's verification is exercised as in production.
 */

// --- a minimal DER writer, enough for a self-signed X.509 certificate ---
function der(tag: number, content: Buffer): Buffer {
  const len = content.length;
  let header: Buffer;
  if (len < 0x80) header = Buffer.from([tag, len]);
  else {
    const bytes: number[] = [];
    for (let n = len; n > 0; n >>= 8) bytes.unshift(n & 0xff);
    header = Buffer.from([tag, 0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([header, content]);
}
const seq = (...parts: Buffer[]) => der(0x30, Buffer.concat(parts));
const set = (...parts: Buffer[]) => der(0x31, Buffer.concat(parts));
const int = (b: Buffer) => der(0x02, b[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [a! * 40 + b!];
  for (const n of rest) {
    const chunk: number[] = [];
    let v = n;
    do {
      chunk.unshift(v & 0x7f);
      v >>= 7;
    } while (v > 0);
    for (let i = 0; i < chunk.length - 1; i++) chunk[i]! |= 0x80;
    out.push(...chunk);
  }
  return der(0x06, Buffer.from(out));
}
const utcTime = (d: Date) => der(0x17, Buffer.from(d.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z', 'ascii'));
const name = (cn: string) => seq(set(seq(oid('2.5.4.3'), der(0x0c, Buffer.from(cn, 'utf8')))));

/** A self-signed RSA certificate (PEM) and its private key. */
export function selfSignedCertificate(opts: { commonName?: string; notBefore?: Date; notAfter?: Date } = {}): { certificatePem: string; privateKey: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const sha256WithRsa = seq(oid('1.2.840.113549.1.1.11'), der(0x05, Buffer.alloc(0)));
  const cn = opts.commonName ?? 'sns.amazonaws.com';
  const tbs = seq(
    der(0xa0, int(Buffer.from([2]))), // v3
    int(randomBytes(8)),
    sha256WithRsa,
    name(cn),
    seq(utcTime(opts.notBefore ?? new Date(Date.now() - 86_400_000)), utcTime(opts.notAfter ?? new Date(Date.now() + 365 * 86_400_000))),
    name(cn),
    publicKey.export({ type: 'spki', format: 'der' }),
  );
  const signature = sign('sha256', tbs, privateKey);
  const cert = seq(tbs, sha256WithRsa, der(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const b64 = cert.toString('base64').replace(/(.{64})/g, '$1\n').trim();
  return { certificatePem: `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`, privateKey };
}

export const TEST_TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:ses-feedback';
export const TEST_CERT_URL = 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-test.pem';

/** Signs SNS messages like SNS does; `fetcher` serves the certificate for TEST_CERT_URL only. */
export class SnsSigner {
  readonly cert = selfSignedCertificate();
  readonly fetched: string[] = [];
  readonly fetcher = async (url: string): Promise<string> => {
    this.fetched.push(url);
    if (url !== TEST_CERT_URL) throw new Error(`no certificate at ${url}`);
    return this.cert.certificatePem;
  };

  sign(m: Omit<SnsMessage, 'Signature' | 'SignatureVersion' | 'SigningCertURL'> & Partial<SnsMessage>, version: '1' | '2' = '2'): SnsMessage {
    const unsigned = { SigningCertURL: TEST_CERT_URL, ...m, SignatureVersion: version, Signature: '' } as SnsMessage;
    const Signature = sign(version === '1' ? 'sha1' : 'sha256', Buffer.from(snsStringToSign(unsigned), 'utf8'), this.cert.privateKey).toString('base64');
    return { ...unsigned, Signature };
  }

  /** A signed Notification carrying an SES event (JSON) on the test topic. */
  notification(sesEvent: unknown, version: '1' | '2' = '2', topicArn = TEST_TOPIC_ARN): SnsMessage {
    return this.sign({
      Type: 'Notification',
      MessageId: randomUUID(),
      TopicArn: topicArn,
      Message: JSON.stringify(sesEvent),
      Timestamp: new Date().toISOString(),
    }, version);
  }
}

/** An SES event-publishing bounce / complaint / delivery for one message. */
export function sesEvent(kind: 'Bounce' | 'Complaint' | 'Delivery', messageId: string, recipient: string, opts: { permanent?: boolean; correlationId?: string } = {}) {
  const mail = { messageId, destination: [recipient], timestamp: new Date().toISOString(), tags: opts.correlationId ? { correlation_id: [opts.correlationId] } : {} };
  if (kind === 'Bounce') {
    return { eventType: 'Bounce', mail, bounce: { bounceType: opts.permanent === false ? 'Transient' : 'Permanent', bounceSubType: 'General', bouncedRecipients: [{ emailAddress: recipient }], timestamp: new Date().toISOString(), feedbackId: randomUUID() } };
  }
  if (kind === 'Complaint') {
    return { eventType: 'Complaint', mail, complaint: { complainedRecipients: [{ emailAddress: recipient }], timestamp: new Date().toISOString(), feedbackId: randomUUID() } };
  }
  return { eventType: 'Delivery', mail, delivery: { recipients: [recipient], timestamp: new Date().toISOString() } };
}

/** Signs SendGrid event webhook batches with an ECDSA P-256 key. */
export class SendgridSigner {
  private readonly keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  /** As SendGrid shows it: base64 DER SubjectPublicKeyInfo. */
  readonly publicKeyBase64 = this.keys.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');

  sign(body: string, timestamp = String(Math.floor(Date.now() / 1000))): Record<string, string> {
    const signature = sign('sha256', Buffer.concat([Buffer.from(timestamp), Buffer.from(body)]), { key: this.keys.privateKey, dsaEncoding: 'der' });
    return {
      'content-type': 'application/json',
      'x-twilio-email-event-webhook-signature': signature.toString('base64'),
      'x-twilio-email-event-webhook-timestamp': timestamp,
    };
  }
}

export function sendgridEvent(event: 'delivered' | 'bounce' | 'spamreport' | 'unsubscribe' | 'open', xMessageId: string, email: string, extra: Record<string, unknown> = {}) {
  return {
    email,
    event,
    timestamp: Math.floor(Date.now() / 1000),
    sg_event_id: randomBytes(16).toString('base64url'),
    sg_message_id: `${xMessageId}.filterdrecv-7c9d-1-${randomBytes(4).toString('hex')}`,
    ...(event === 'bounce' ? { type: 'bounce', reason: '550 5.1.1 user unknown' } : {}),
    ...extra,
  };
}

/** Signs Mailgun webhooks with an HTTP webhook signing key. */
export class MailgunSigner {
  readonly signingKey = `key-${randomBytes(16).toString('hex')}`;

  signature(timestamp = String(Math.floor(Date.now() / 1000)), token = randomBytes(25).toString('hex')) {
    return { timestamp, token, signature: createHmac('sha256', this.signingKey).update(timestamp + token).digest('hex') };
  }

  body(eventData: unknown, signature = this.signature()) {
    return { signature, 'event-data': eventData };
  }
}

export function mailgunEventData(event: 'delivered' | 'failed' | 'complained' | 'unsubscribed', providerMessageId: string, recipient: string, opts: { permanent?: boolean; correlationId?: string } = {}) {
  return {
    id: randomBytes(11).toString('base64url'),
    event,
    timestamp: Date.now() / 1000,
    recipient,
    ...(event === 'failed' ? { severity: opts.permanent === false ? 'temporary' : 'permanent', reason: 'bounce' } : {}),
    message: { headers: { 'message-id': providerMessageId.replace(/^<|>$/g, '') } },
    'user-variables': opts.correlationId ? { correlation_id: opts.correlationId } : {},
  };
}
