import { generateKeyPairSync, sign } from 'node:crypto';
import { verifyMailgunSignature } from '../../core/webhooks/mailgun';
import { sendgridPublicKey, verifySendgridSignature } from '../../core/webhooks/sendgrid';
import { isSnsUrl, parseSnsMessage, snsStringToSign, verifySnsSignature, type SnsMessage } from '../../core/webhooks/sns';
import { MailgunSigner, SendgridSigner, selfSignedCertificate, SnsSigner, TEST_TOPIC_ARN } from '../fakes/webhook-signers';

describe('SNS signatures', () => {
  const signer = new SnsSigner();
  const base = { Type: 'Notification' as const, MessageId: 'm-1', TopicArn: TEST_TOPIC_ARN, Message: '{"a":1}', Timestamp: '2026-01-01T00:00:00.000Z' };

  it.each(['1', '2'] as const)('accepts signature version %s and refuses any tampered field', (version) => {
    const m = signer.sign(base, version);
    expect(verifySnsSignature(m, signer.cert.certificatePem)).toBe(true);
    for (const field of ['Message', 'MessageId', 'Timestamp', 'TopicArn'] as const) {
      expect(verifySnsSignature({ ...m, [field]: m[field] + 'x' }, signer.cert.certificatePem)).toBe(false);
    }
    // Same signature declared under the other version: other hash, refused.
    expect(verifySnsSignature({ ...m, SignatureVersion: version === '1' ? '2' : '1' }, signer.cert.certificatePem)).toBe(false);
  });

  it('signs Subject only when present, and subscription messages over SubscribeURL and Token', () => {
    const withSubject = signer.sign({ ...base, Subject: 'Amazon SES Email Event Notification' });
    expect(snsStringToSign(withSubject)).toContain('Subject\nAmazon SES Email Event Notification\n');
    expect(verifySnsSignature(withSubject, signer.cert.certificatePem)).toBe(true);
    expect(verifySnsSignature({ ...withSubject, Subject: undefined }, signer.cert.certificatePem)).toBe(false);
    const sub = signer.sign({ ...base, Type: 'SubscriptionConfirmation', SubscribeURL: 'https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription', Token: 't0k' });
    expect(snsStringToSign(sub)).toBe(
      `Message\n{"a":1}\nMessageId\nm-1\nSubscribeURL\nhttps://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription\nTimestamp\n2026-01-01T00:00:00.000Z\nToken\nt0k\nTopicArn\n${TEST_TOPIC_ARN}\nType\nSubscriptionConfirmation\n`,
    );
    expect(verifySnsSignature(sub, signer.cert.certificatePem)).toBe(true);
    expect(verifySnsSignature({ ...sub, Token: 'other' }, signer.cert.certificatePem)).toBe(false);
  });

  it('refuses a signature made by another key, an expired certificate and garbage', () => {
    const other = selfSignedCertificate();
    const m = signer.sign(base);
    expect(verifySnsSignature(m, other.certificatePem)).toBe(false);
    const expired = selfSignedCertificate({ notBefore: new Date('2020-01-01'), notAfter: new Date('2021-01-01') });
    const forged: SnsMessage = { ...m, Signature: sign('sha256', Buffer.from(snsStringToSign(m)), expired.privateKey).toString('base64') };
    expect(verifySnsSignature(forged, expired.certificatePem)).toBe(false);
    expect(verifySnsSignature(forged, expired.certificatePem, new Date('2020-06-01'))).toBe(true);
    expect(verifySnsSignature(m, 'not a certificate')).toBe(false);
    expect(verifySnsSignature({ ...m, Signature: '' }, signer.cert.certificatePem)).toBe(false);
  });

  it('takes certificates and subscribe URLs only from https SNS hosts', () => {
    expect(isSnsUrl('https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem')).toBe(true);
    expect(isSnsUrl('https://sns.cn-north-1.amazonaws.com.cn/x.pem')).toBe(true);
    for (const bad of [
      'http://sns.us-east-1.amazonaws.com/x.pem',
      'https://sns.us-east-1.amazonaws.com.evil.io/x.pem',
      'https://evil.io/sns.us-east-1.amazonaws.com/x.pem',
      'https://sqs.us-east-1.amazonaws.com/x.pem',
      'https://sns.us-east-1.amazonaws.com:8443/x.pem',
      'https://user:pw@sns.us-east-1.amazonaws.com/x.pem',
      'https://SNS.US-EAST-1.amazonaws.com@evil.io/x.pem',
      'not a url',
      undefined,
    ]) {
      expect([bad, isSnsUrl(bad)]).toEqual([bad, false]);
    }
  });

  it('parses only well-formed SNS messages', () => {
    expect(parseSnsMessage('{')).toEqual({ ok: false, reason: 'body is not JSON' });
    expect(parseSnsMessage('[]')).toMatchObject({ ok: false });
    expect(parseSnsMessage(JSON.stringify({ ...signer.sign(base), Type: 'Other' }))).toMatchObject({ ok: false, reason: expect.stringContaining('Type') });
    expect(parseSnsMessage(JSON.stringify({ ...signer.sign(base), SignatureVersion: '3' }))).toMatchObject({ ok: false, reason: expect.stringContaining('SignatureVersion') });
    const { Signature: _s, ...unsigned } = signer.sign(base);
    expect(parseSnsMessage(JSON.stringify(unsigned))).toMatchObject({ ok: false, reason: 'Signature: missing' });
    expect(parseSnsMessage(JSON.stringify({ ...signer.sign(base), Type: 'SubscriptionConfirmation' }))).toMatchObject({ ok: false });
    expect(parseSnsMessage(JSON.stringify(signer.sign(base)))).toMatchObject({ ok: true });
  });
});

describe('SendGrid signed event webhook', () => {
  const signer = new SendgridSigner();
  const key = sendgridPublicKey(signer.publicKeyBase64);
  const opts = { nowMs: Date.now(), maxAgeSeconds: 600 };
  const body = JSON.stringify([{ event: 'delivered', sg_event_id: 'e1' }]);

  it('verifies ECDSA over timestamp + raw body and refuses tampering', () => {
    const h = signer.sign(body);
    const input = { signature: h['x-twilio-email-event-webhook-signature'], timestamp: h['x-twilio-email-event-webhook-timestamp'], rawBody: Buffer.from(body) };
    expect(verifySendgridSignature(key, input, opts)).toEqual({ ok: true });
    expect(verifySendgridSignature(key, { ...input, rawBody: Buffer.from(body.replace('delivered', 'bounce')) }, opts)).toMatchObject({ ok: false });
    expect(verifySendgridSignature(key, { ...input, timestamp: String(Number(input.timestamp) - 1) }, opts)).toMatchObject({ ok: false });
    // A re-serialised body (same JSON, other bytes) is not what was signed.
    expect(verifySendgridSignature(key, { ...input, rawBody: Buffer.from(JSON.stringify(JSON.parse(body), null, 1)) }, opts)).toMatchObject({ ok: false });
  });

  it('refuses another key, stale or future timestamps, and missing headers', () => {
    const otherKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
    const h = signer.sign(body);
    const input = { signature: h['x-twilio-email-event-webhook-signature'], timestamp: h['x-twilio-email-event-webhook-timestamp'], rawBody: Buffer.from(body) };
    expect(verifySendgridSignature(otherKey, input, opts)).toMatchObject({ ok: false, reason: 'signature mismatch' });
    const old = String(Math.floor(opts.nowMs / 1000) - 601);
    expect(verifySendgridSignature(key, { ...input, ...{ timestamp: old, signature: signer.sign(body, old)['x-twilio-email-event-webhook-signature'] } }, opts)).toMatchObject({ ok: false, reason: 'timestamp too old' });
    const future = String(Math.floor(opts.nowMs / 1000) + 3600);
    expect(verifySendgridSignature(key, { ...input, timestamp: future }, opts)).toMatchObject({ ok: false, reason: 'timestamp in the future' });
    expect(verifySendgridSignature(key, { ...input, signature: undefined }, opts)).toMatchObject({ ok: false });
    expect(verifySendgridSignature(key, { ...input, signature: 'AAAA' }, opts)).toMatchObject({ ok: false });
  });
});

describe('Mailgun webhook signature', () => {
  const signer = new MailgunSigner();
  const opts = { nowMs: Date.now(), maxAgeSeconds: 300 };

  it('verifies HMAC-SHA256 of timestamp + token and refuses tampering and other keys', () => {
    const s = signer.signature();
    expect(verifyMailgunSignature(signer.signingKey, s, opts)).toEqual({ ok: true });
    expect(verifyMailgunSignature(signer.signingKey, { ...s, token: s.token.replace(/.$/, (c) => (c === 'a' ? 'b' : 'a')) }, opts)).toMatchObject({ ok: false });
    expect(verifyMailgunSignature('another-signing-key', s, opts)).toMatchObject({ ok: false, reason: 'signature mismatch' });
    expect(verifyMailgunSignature(signer.signingKey, { ...s, signature: 'zz' }, opts)).toMatchObject({ ok: false });
  });

  it('refuses timestamps more than 5 minutes away', () => {
    const stale = signer.signature(String(Math.floor(opts.nowMs / 1000) - 301));
    expect(verifyMailgunSignature(signer.signingKey, stale, opts)).toMatchObject({ ok: false, reason: expect.stringContaining('timestamp') });
    const fresh = signer.signature(String(Math.floor(opts.nowMs / 1000) - 299));
    expect(verifyMailgunSignature(signer.signingKey, fresh, opts)).toEqual({ ok: true });
  });
});
