/**
 * Replies through providers (issue 12, point 2): SES receiving (SNS, signed,
 * the raw message in the notification), Mailgun routes (signed) and SendGrid
 * Inbound Parse (a secret path token and basic auth). Each request is
 * verified before anything is stored; a genuine one is applied once through
 * the same ingestion pipeline as the IMAP watcher; a forged, tampered or
 * replayed one changes nothing.
 */
import type { FastifyInstance } from 'fastify';
import { randomBytes, randomUUID } from 'node:crypto';
import { buildApp } from '../../api/app';
import { SecretBox } from '../../core/crypto';
import { SmtpSink } from '../fakes/smtp-sink';
import { MailgunSigner, SnsSigner, TEST_TOPIC_ARN } from '../fakes/webhook-signers';
import { campaignWithLeads, newProvider } from '../helpers/campaign-fixture';
import { bearer, json, newClient, startStack, type Stack } from '../helpers/stack';

const SENDGRID_TOKEN = randomBytes(24).toString('base64url');
const SENDGRID_BASIC = `parse:${randomBytes(16).toString('hex')}`;

describe('inbound mail webhooks: verified, applied once, through the ingestion pipeline', () => {
  let stack: Stack;
  let api: FastifyInstance;
  let sink: SmtpSink;
  const sns = new SnsSigner();
  const mailgun = new MailgunSigner();
  let c: Awaited<ReturnType<typeof campaignWithLeads>>;
  let client: { id: string; apiKey: string };

  beforeAll(async () => {
    sink = await new SmtpSink().start();
    stack = await startStack({
      worker: true,
      env: {
        SES_INBOUND_TOPIC_ARNS: TEST_TOPIC_ARN,
        MAILGUN_WEBHOOK_SIGNING_KEY: mailgun.signingKey,
        SENDGRID_INBOUND_TOKEN: SENDGRID_TOKEN,
        SENDGRID_INBOUND_BASIC_AUTH: SENDGRID_BASIC,
      },
    });
    api = await buildApp({ config: stack.config, pool: stack.pool, temporal: stack.temporal, box: new SecretBox(stack.config.CREDENTIALS_KEY!), webhooks: { snsCertificateFetcher: sns.fetcher } });
    const provider = await newProvider(stack, 'smtp', { host: '127.0.0.1', port: sink.port });
    client = await newClient(stack);
    c = await campaignWithLeads(stack, client, { providers: [provider.name], mailboxes: 1, leads: 4 });
    await c.start();
    await c.waitDone(60_000);
  });
  afterAll(async () => {
    await api?.close();
    await stack?.close();
    await sink?.stop();
  });

  /** A reply from lead i to its step 1, as the provider received it. */
  function replyFrom(i: number): string {
    const lead = c.emails[i]!;
    const sent = sink.received.find((m) => m.to[0] === lead)!;
    return [
      `From: ${lead}`, `To: ${c.addresses[0]}`, `Subject: Re: Hello L${i}`, `Message-ID: <in-${randomUUID()}@leads.example.org>`,
      `In-Reply-To: ${sent.headers['message-id']}`, 'Content-Type: text/plain; charset=utf-8', '', `Reply ${i}`, '',
    ].join('\r\n');
  }
  /** What the inbound path stored, in total: replies, inbound events, replied leads. */
  async function stored() {
    const q = async (sql: string) => (await stack.pool.query<{ n: number }>(sql, [c.campaignId])).rows[0]!.n;
    return {
      replies: await q('SELECT count(*)::int AS n FROM replies WHERE campaign_id = $1'),
      events: await q("SELECT count(*)::int AS n FROM events e JOIN sends s ON s.id = e.send_id WHERE s.campaign_id = $1 AND e.type = 'replied'"),
      replied: await q("SELECT count(*)::int AS n FROM leads WHERE campaign_id = $1 AND status = 'replied'"),
    };
  }
  const repliesOf = async () => json<{ items: { from: string; source: string }[] }>(
    await stack.app.inject({ method: 'GET', url: `/v1/campaigns/${c.campaignId}/replies`, headers: bearer(client.apiKey) })).items;

  function form(fields: Record<string, string>): { payload: Buffer; headers: Record<string, string> } {
    const boundary = `b${randomBytes(8).toString('hex')}`;
    const parts = Object.entries(fields).map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`);
    return { payload: Buffer.from(`${parts.join('')}--${boundary}--\r\n`), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
  }

  it('SES: a signed Received notification is applied once; forged, tampered, stale and replayed ones change nothing', async () => {
    const received = (raw: string, at = new Date()) => sns.sign({
      Type: 'Notification', MessageId: randomUUID(), TopicArn: TEST_TOPIC_ARN, Timestamp: at.toISOString(),
      Message: JSON.stringify({
        notificationType: 'Received',
        mail: { messageId: randomUUID(), destination: [c.addresses[0]] },
        receipt: { recipients: [c.addresses[0]], action: { type: 'SNS', encoding: 'BASE64' } },
        content: Buffer.from(raw).toString('base64'),
      }),
    });
    const post = (m: object) => api.inject({ method: 'POST', url: '/webhooks/ses/inbound', headers: { 'content-type': 'text/plain' }, payload: JSON.stringify(m) });
    const before = await stored();

    const forgedSigner = new SnsSigner(); // its certificate is not the one SNS serves
    expect((await post(forgedSigner.sign({ ...received(replyFrom(0)), Signature: undefined } as never))).statusCode).toBe(401);
    const genuine = received(replyFrom(0));
    expect((await post({ ...genuine, Message: genuine.Message.replace('"recipients"', '"recipients" ') })).statusCode).toBe(401); // tampered
    expect((await post(received(replyFrom(0), new Date(Date.now() - 2 * 3_600_000)))).statusCode).toBe(401); // stale
    expect(await stored()).toEqual(before);

    const ok = await post(genuine);
    expect(ok.statusCode).toBe(200);
    expect(json(ok)).toMatchObject({ received: 1, outcomes: ['reply'] });
    const after = await stored();
    expect(after).toEqual({ replies: before.replies + 1, events: before.events + 1, replied: before.replied + 1 });
    const replay = await post(genuine);
    expect(replay.statusCode).toBe(200);
    expect(json(replay)).toMatchObject({ outcomes: ['duplicate'] });
    expect(await stored()).toEqual(after);
    expect((await repliesOf()).find((r) => r.from === c.emails[0])).toMatchObject({ source: 'ses' });
  });

  it('Mailgun: a signed route forward is applied once; a bad signature, a stale timestamp and a reused token change nothing', async () => {
    const post = (fields: Record<string, string>) => {
      const f = form(fields);
      return api.inject({ method: 'POST', url: '/webhooks/mailgun/inbound-mime', headers: f.headers, payload: f.payload });
    };
    const raw = replyFrom(1);
    const before = await stored();
    const good = mailgun.signature();
    expect((await post({ ...good, signature: 'f'.repeat(64), recipient: c.addresses[0]!, 'body-mime': raw })).statusCode).toBe(401);
    expect((await post({ ...good, timestamp: String(Number(good.timestamp) + 1), recipient: c.addresses[0]!, 'body-mime': raw })).statusCode).toBe(401);
    expect((await post({ ...mailgun.signature(String(Math.floor(Date.now() / 1000) - 3600)), recipient: c.addresses[0]!, 'body-mime': raw })).statusCode).toBe(401);
    expect((await post({ recipient: c.addresses[0]!, 'body-mime': raw })).statusCode).toBe(401);
    expect(await stored()).toEqual(before);

    const ok = await post({ ...good, recipient: c.addresses[0]!, 'body-mime': raw });
    expect(ok.statusCode).toBe(200);
    expect(json(ok)).toMatchObject({ received: 1, outcomes: ['reply'] });
    const after = await stored();
    expect(after).toEqual({ replies: before.replies + 1, events: before.events + 1, replied: before.replied + 1 });
    expect((await post({ ...good, recipient: c.addresses[0]!, 'body-mime': raw })).statusCode).toBe(401); // the token again
    // A fresh signature on the same message (Mailgun's own retry) is a no-op.
    expect(json(await post({ ...mailgun.signature(), recipient: c.addresses[0]!, 'body-mime': raw }))).toMatchObject({ outcomes: ['duplicate'] });
    expect(await stored()).toEqual(after);
    expect((await repliesOf()).find((r) => r.from === c.emails[1])).toMatchObject({ source: 'mailgun' });
  });

  it('SendGrid Inbound Parse: the secret path and basic auth are required; a message is applied once', async () => {
    const raw = replyFrom(2);
    const basic = (cred: string) => ({ authorization: `Basic ${Buffer.from(cred).toString('base64')}` });
    const post = (token: string, headers: Record<string, string>) => {
      const f = form({ to: c.addresses[0]!, envelope: JSON.stringify({ to: [c.addresses[0]], from: c.emails[2] }), email: raw });
      return api.inject({ method: 'POST', url: `/webhooks/sendgrid/inbound/${token}`, headers: { ...f.headers, ...headers }, payload: f.payload });
    };
    const before = await stored();
    expect((await post(SENDGRID_TOKEN, {})).statusCode).toBe(401);
    expect((await post(SENDGRID_TOKEN, basic('parse:wrong-password-123456'))).statusCode).toBe(401);
    expect((await post(`${SENDGRID_TOKEN}x`, basic(SENDGRID_BASIC))).statusCode).toBe(401);
    expect(await stored()).toEqual(before);

    const ok = await post(SENDGRID_TOKEN, basic(SENDGRID_BASIC));
    expect(ok.statusCode).toBe(200);
    expect(json(ok)).toMatchObject({ received: 1, outcomes: ['reply'] });
    const after = await stored();
    expect(after).toEqual({ replies: before.replies + 1, events: before.events + 1, replied: before.replied + 1 });
    expect(json(await post(SENDGRID_TOKEN, basic(SENDGRID_BASIC)))).toMatchObject({ outcomes: ['duplicate'] });
    expect(await stored()).toEqual(after);
    expect((await repliesOf()).find((r) => r.from === c.emails[2])).toMatchObject({ source: 'sendgrid' });
  });

  it('a recipient that is none of our mailboxes stores nothing', async () => {
    const f = form({ to: 'nobody@elsewhere.example', envelope: JSON.stringify({ to: ['nobody@elsewhere.example'] }), email: replyFrom(3) });
    const before = await stored();
    const res = await api.inject({
      method: 'POST', url: `/webhooks/sendgrid/inbound/${SENDGRID_TOKEN}`,
      headers: { ...f.headers, authorization: `Basic ${Buffer.from(SENDGRID_BASIC).toString('base64')}` }, payload: f.payload,
    });
    expect(json(res)).toEqual({ received: 0, unknownRecipients: 1, outcomes: [] });
    expect(await stored()).toEqual(before);
  });
});
