import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app';
import { SecretBox } from '../../core/crypto';
import { campaignWithLeads, newProvider } from '../helpers/campaign-fixture';
import { bearer, json, newClient, startStack, type Stack } from '../helpers/stack';
import {
  MailgunSigner, SendgridSigner, SnsSigner, TEST_CERT_URL, TEST_TOPIC_ARN,
  mailgunEventData, selfSignedCertificate, sendgridEvent, sesEvent,
} from '../fakes/webhook-signers';
import { snsStringToSign } from '../../core/webhooks/sns';
import { sign } from 'node:crypto';

type Kind = 'ses' | 'sendgrid' | 'mailgun';

describe('provider webhooks (signed; real PostgreSQL and Temporal)', () => {
  let stack: Stack;
  let app: FastifyInstance;
  const sns = new SnsSigner();
  const sendgrid = new SendgridSigner();
  const mailgun = new MailgunSigner();
  const confirmed: string[] = [];

  beforeAll(async () => {
    stack = await startStack({
      env: {
        SES_SNS_TOPIC_ARNS: TEST_TOPIC_ARN,
        SENDGRID_WEBHOOK_PUBLIC_KEY: sendgrid.publicKeyBase64,
        MAILGUN_WEBHOOK_SIGNING_KEY: mailgun.signingKey,
      },
    });
    app = await buildApp({
      config: stack.config, pool: stack.pool, temporal: stack.temporal, box: new SecretBox(stack.config.CREDENTIALS_KEY!),
      webhooks: { snsCertificateFetcher: sns.fetcher, snsSubscriptionConfirmer: async (url) => void confirmed.push(url) },
    });
  });
  afterAll(async () => {
    await app?.close();
    await stack?.close();
  });

  const providerConfig: Record<Kind, Record<string, unknown>> = {
    ses: { region: 'us-east-1', accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' },
    sendgrid: { apiKey: 'SG.test' },
    mailgun: { apiKey: 'key-test', domain: 'mg.example.com' },
  };

  /** A client with a 3-lead campaign whose sends are recorded as accepted by `kind` (status as given). */
  async function sentCampaign(kind: Kind, status = 'sent') {
    const client = await newClient(stack);
    const provider = await newProvider(stack, kind, providerConfig[kind]);
    const c = await campaignWithLeads(stack, client, { providers: [provider.name], mailboxes: 1, leads: 3 });
    const { rows: leads } = await stack.pool.query<{ id: string; email: string }>('SELECT id, email FROM leads WHERE campaign_id = $1 ORDER BY email', [c.campaignId]);
    const sends = [];
    for (const lead of leads) {
      const id = randomUUID();
      const pmid = kind === 'mailgun' ? `<${randomUUID()}@mg.example.com>` : `${kind}-${randomUUID()}`;
      await stack.pool.query(
        `INSERT INTO sends (id, client_id, campaign_id, lead_id, step, mailbox_id, provider_account_id, provider_message_id, status, sent_at)
         VALUES ($1, $2, $3, $4, 0, $5, $6, $7, $8, now())`,
        [id, client.id, c.campaignId, lead.id, c.mailboxIds[0], provider.id, pmid, status],
      );
      await stack.pool.query("UPDATE leads SET status = 'done', mailbox_id = $2 WHERE id = $1", [lead.id, c.mailboxIds[0]]);
      sends.push({ id, leadId: lead.id, email: lead.email, providerMessageId: pmid });
    }
    return { client, campaignId: c.campaignId, sends };
  }

  /** Everything a webhook could write for this client: compared before and after refused requests. */
  async function snapshot(clientId: string) {
    const q = async (sql: string) => (await stack.pool.query(sql, [clientId])).rows;
    return {
      events: await q('SELECT dedupe_key FROM events WHERE client_id = $1 ORDER BY 1'),
      suppressions: await q('SELECT email, reason FROM suppressions WHERE client_id = $1 ORDER BY 1'),
      sends: await q('SELECT id, status FROM sends WHERE client_id = $1 ORDER BY 1'),
      leads: await q('SELECT id, status FROM leads WHERE client_id = $1 ORDER BY 1'),
      alerts: await q('SELECT id FROM alerts WHERE client_id = $1'),
    };
  }
  const tokens = async () => Number((await stack.pool.query('SELECT count(*) AS n FROM webhook_tokens')).rows[0].n);

  const postSes = (body: unknown) =>
    app.inject({ method: 'POST', url: '/webhooks/ses', headers: { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': 'Notification' }, payload: JSON.stringify(body) });

  describe('SES (SNS)', () => {
    it.each(['1', '2'] as const)('a signed hard bounce (SignatureVersion %s) settles the send, stops the lead and suppresses the address', async (version) => {
      const f = await sentCampaign('ses');
      const target = f.sends[0]!;
      const res = await postSes(sns.notification(sesEvent('Bounce', target.providerMessageId, target.email), version));
      expect([res.statusCode, json(res)]).toEqual([200, { received: 1, stored: 1, duplicates: 0, unmatched: 0, mismatched: 0 }]);
      const s = await snapshot(f.client.id);
      expect(s.suppressions).toEqual([{ email: target.email.toLowerCase(), reason: 'hard_bounce' }]);
      expect(s.sends.find((r) => r.id === target.id)!.status).toBe('bounced');
      expect(s.leads.find((r) => r.id === target.leadId)!.status).toBe('bounced');
      expect(s.events).toHaveLength(1);
    });

    it("matches a message id only among the event's provider's sends (another provider's send with the same id is left alone)", async () => {
      const sgSide = await sentCampaign('sendgrid');
      const sesSide = await sentCampaign('ses');
      const target = sesSide.sends[0]!;
      const sameId = sgSide.sends[0]!;
      // The SendGrid send carries the same provider message id and comes first in the table.
      await stack.pool.query('UPDATE sends SET provider_message_id = $2 WHERE id = $1', [sameId.id, target.providerMessageId]);
      await stack.pool.query('UPDATE sends SET updated_at = now() WHERE id = $1', [target.id]);
      const res = await postSes(sns.notification(sesEvent('Bounce', target.providerMessageId, target.email)));
      expect([res.statusCode, json(res)]).toEqual([200, { received: 1, stored: 1, duplicates: 0, unmatched: 0, mismatched: 0 }]);
      expect((await snapshot(sesSide.client.id)).sends.find((r) => r.id === target.id)!.status).toBe('bounced');
      const other = await snapshot(sgSide.client.id);
      expect([other.sends.find((r) => r.id === sameId.id)!.status, other.suppressions, other.events]).toEqual(['sent', [], []]);
    });

    it('forged, tampered, replayed, foreign-topic and foreign-certificate messages store nothing', async () => {
      const f = await sentCampaign('ses');
      const target = f.sends[1]!;
      const genuine = sns.notification(sesEvent('Bounce', target.providerMessageId, target.email));
      const before = await snapshot(f.client.id);

      // Tampered: the signed message now names another send.
      const tampered = { ...genuine, Message: genuine.Message.replace(target.providerMessageId, f.sends[2]!.providerMessageId) };
      // Forged: signed by a key that is not the certificate's.
      const impostor = selfSignedCertificate();
      const forged = { ...genuine, MessageId: randomUUID() };
      forged.Signature = sign('sha256', Buffer.from(snsStringToSign(forged)), impostor.privateKey).toString('base64');
      // A certificate from a host that is not SNS is never fetched.
      const evilCert = { ...genuine, SigningCertURL: 'https://sns.us-east-1.amazonaws.com.evil.example/cert.pem' };
      const httpCert = { ...genuine, SigningCertURL: TEST_CERT_URL.replace('https:', 'http:') };
      const otherTopic = sns.notification(sesEvent('Bounce', target.providerMessageId, target.email), '2', 'arn:aws:sns:us-east-1:123456789012:someone-else');
      const fetchedBefore = sns.fetched.length;
      for (const m of [tampered, forged, evilCert, httpCert, otherTopic]) {
        const res = await postSes(m);
        expect([res.statusCode, json<{ error: { code: string } }>(res).error.code]).toEqual([401, 'invalid_signature']);
      }
      expect(sns.fetched.slice(fetchedBefore).every((u) => u === TEST_CERT_URL)).toBe(true);
      expect(await snapshot(f.client.id)).toEqual(before);
      // Malformed bodies are a 400, and store nothing either.
      const bad = await app.inject({ method: 'POST', url: '/webhooks/ses', headers: { 'content-type': 'text/plain' }, payload: 'not json' });
      expect(bad.statusCode).toBe(400);

      // The genuine one applies once; its replay is ignored.
      expect(json(await postSes(genuine))).toMatchObject({ stored: 1 });
      const after = await snapshot(f.client.id);
      const replay = await postSes(genuine);
      expect([replay.statusCode, json(replay)]).toEqual([200, { received: 1, stored: 0, duplicates: 1, unmatched: 0, mismatched: 0 }]);
      expect(await snapshot(f.client.id)).toEqual(after);
    });

    it('confirms a signed SubscriptionConfirmation only through an SNS SubscribeURL', async () => {
      const url = 'https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=x&Token=abc';
      const sub = sns.sign({ Type: 'SubscriptionConfirmation', MessageId: randomUUID(), TopicArn: TEST_TOPIC_ARN, Message: 'confirm', Timestamp: new Date().toISOString(), SubscribeURL: url, Token: 'abc' });
      const res = await postSes(sub);
      expect([res.statusCode, json(res)]).toEqual([200, { confirmed: true }]);
      expect(confirmed).toContain(url);
      const evil = sns.sign({ ...sub, SubscribeURL: 'https://attacker.example/?sns.us-east-1.amazonaws.com' });
      const refused = await postSes(evil);
      expect(refused.statusCode).toBe(401);
      expect(confirmed).not.toContain(evil.SubscribeURL);
      // Unsigned (tampered after signing): refused before any GET.
      const count = confirmed.length;
      expect((await postSes({ ...sub, SubscribeURL: url + '&x=1' })).statusCode).toBe(401);
      expect(confirmed).toHaveLength(count);
    });
  });

  describe('SendGrid', () => {
    const post = (body: string, headers: Record<string, string>) => app.inject({ method: 'POST', url: '/webhooks/sendgrid', headers, payload: body });

    it('a signed batch settles an unknown send as delivered and a spam report as a complaint', async () => {
      const f = await sentCampaign('sendgrid', 'unknown');
      const [a, b] = f.sends;
      const body = JSON.stringify([
        sendgridEvent('delivered', a!.providerMessageId, a!.email),
        sendgridEvent('delivered', b!.providerMessageId, b!.email, { correlation_id: b!.id }),
        sendgridEvent('spamreport', b!.providerMessageId, b!.email),
      ]);
      const res = await post(body, sendgrid.sign(body));
      expect([res.statusCode, json(res)]).toEqual([200, { received: 3, stored: 3, duplicates: 0, unmatched: 0, mismatched: 0 }]);
      const s = await snapshot(f.client.id);
      expect(s.sends.find((r) => r.id === a!.id)!.status).toBe('delivered');
      expect(s.sends.find((r) => r.id === b!.id)!.status).toBe('complained');
      expect(s.suppressions).toEqual([{ email: b!.email.toLowerCase(), reason: 'complaint' }]);
    });

    it('forged, tampered, stale and replayed batches store nothing', async () => {
      const f = await sentCampaign('sendgrid');
      const t = f.sends[0]!;
      const body = JSON.stringify([sendgridEvent('bounce', t.providerMessageId, t.email)]);
      const headers = sendgrid.sign(body);
      const before = await snapshot(f.client.id);
      const other = new SendgridSigner();
      const stale = String(Math.floor(Date.now() / 1000) - 2 * 86_400);
      for (const [b, h] of [
        [body, other.sign(body)], // forged: another key
        [body.replace('bounce', 'delivered'), headers], // tampered body
        [body, { ...headers, 'x-twilio-email-event-webhook-timestamp': String(Number(headers['x-twilio-email-event-webhook-timestamp']) + 1) }],
        [body, sendgrid.sign(body, stale)], // signed, but two days old
        [body, { 'content-type': 'application/json' }], // unsigned
      ] as const) {
        const res = await post(b, h);
        expect(res.statusCode).toBe(401);
      }
      expect(await snapshot(f.client.id)).toEqual(before);
      expect(json(await post(body, headers))).toMatchObject({ stored: 1 });
      const after = await snapshot(f.client.id);
      expect(after.suppressions).toEqual([{ email: t.email.toLowerCase(), reason: 'hard_bounce' }]);
      const replay = await post(body, headers);
      expect([replay.statusCode, json(replay)]).toEqual([200, { received: 1, stored: 0, duplicates: 1, unmatched: 0, mismatched: 0 }]);
      expect(await snapshot(f.client.id)).toEqual(after);
    });
  });

  describe('Mailgun', () => {
    const post = (body: unknown) => app.inject({ method: 'POST', url: '/webhooks/mailgun', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });

    it('a signed permanent failure is a hard bounce; replayed, stale, forged and tampered requests store nothing', async () => {
      const f = await sentCampaign('mailgun');
      const t = f.sends[2]!;
      const data = mailgunEventData('failed', t.providerMessageId, t.email);
      const genuine = mailgun.body(data);
      const before = await snapshot(f.client.id);
      const tokensBefore = await tokens();
      const stale = mailgun.body(data, mailgun.signature(String(Math.floor(Date.now() / 1000) - 301)));
      const forged = { signature: { ...new MailgunSigner().signature() }, 'event-data': data };
      const tampered = { ...genuine, 'event-data': { ...data, recipient: 'someone@else.example' }, signature: { ...genuine.signature, token: genuine.signature.token.slice(0, -1) + (genuine.signature.token.endsWith('0') ? '1' : '0') } };
      for (const b of [stale, forged, tampered, { 'event-data': data }]) {
        const res = await post(b);
        expect(res.statusCode).toBe(401);
      }
      expect(await snapshot(f.client.id)).toEqual(before);
      expect(await tokens()).toBe(tokensBefore);

      const res = await post(genuine);
      expect([res.statusCode, json(res)]).toEqual([200, { received: 1, stored: 1, duplicates: 0, unmatched: 0, mismatched: 0 }]);
      const after = await snapshot(f.client.id);
      expect(after.suppressions).toEqual([{ email: t.email.toLowerCase(), reason: 'hard_bounce' }]);
      expect(after.sends.find((r) => r.id === t.id)!.status).toBe('bounced');
      // The same signed request again is a replay: refused, nothing changes.
      const replay = await post(genuine);
      expect(replay.statusCode).toBe(401);
      // A fresh signature on the same event is accepted but de-duplicated by the event id.
      const again = await post(mailgun.body(data));
      expect(json(again)).toMatchObject({ stored: 0, duplicates: 1 });
      expect(await snapshot(f.client.id)).toEqual(after);
    });
  });

  it('a webhook without configured secrets refuses everything', async () => {
    const bare = await buildApp({ config: { ...stack.config, SES_SNS_TOPIC_ARNS: [], SENDGRID_WEBHOOK_PUBLIC_KEY: undefined, MAILGUN_WEBHOOK_SIGNING_KEY: undefined }, pool: stack.pool, temporal: stack.temporal, box: new SecretBox(stack.config.CREDENTIALS_KEY!), webhooks: { snsCertificateFetcher: sns.fetcher } });
    try {
      expect((await bare.inject({ method: 'POST', url: '/webhooks/ses', headers: { 'content-type': 'text/plain' }, payload: JSON.stringify(sns.notification({})) })).statusCode).toBe(401);
      const body = '[]';
      expect((await bare.inject({ method: 'POST', url: '/webhooks/sendgrid', headers: sendgrid.sign(body), payload: body })).statusCode).toBe(401);
      expect((await bare.inject({ method: 'POST', url: '/webhooks/mailgun', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(mailgun.body({})) })).statusCode).toBe(401);
    } finally {
      await bare.close();
    }
  });

  it('unrelated API routes still parse JSON (the raw-body parser is scoped to webhooks)', async () => {
    const client = await newClient(stack);
    const res = await app.inject({ method: 'POST', url: '/v1/suppressions', headers: bearer(client.apiKey), payload: { emails: ['x@y.example'] } });
    expect(res.statusCode).toBe(201);
  });
});
