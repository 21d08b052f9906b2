import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app';
import { SecretBox } from '../../core/crypto';
import { MailgunFake } from '../fakes/mailgun-fake';
import { SendgridFake } from '../fakes/sendgrid-fake';
import { SesFake } from '../fakes/ses-fake';
import {
  MailgunSigner, SendgridSigner, SnsSigner, TEST_TOPIC_ARN, mailgunEventData, sendgridEvent, sesEvent,
} from '../fakes/webhook-signers';
import { campaignWithLeads, deliveriesPerAddress, newProvider } from '../helpers/campaign-fixture';
import { bearer, json, newClient, startStack, type Stack } from '../helpers/stack';

type Kind = 'ses' | 'sendgrid' | 'mailgun';

/**
 * End to end: real campaigns through each provider's fake, a signed hard
 * bounce through that provider's webhook, then new campaigns: the bouncing
 * address is skipped (counted suppressed, never sent) for that client only.
 */
describe('hard bounce through each webhook suppresses the address for that client', () => {
  let stack: Stack;
  let api: FastifyInstance;
  const fakes = { ses: new SesFake(), sendgrid: new SendgridFake(), mailgun: new MailgunFake() };
  const urls = {} as Record<Kind, string>;
  const sns = new SnsSigner();
  const sendgrid = new SendgridSigner();
  const mailgun = new MailgunSigner();

  beforeAll(async () => {
    for (const k of Object.keys(fakes) as Kind[]) urls[k] = await fakes[k].start();
    stack = await startStack({
      worker: true,
      env: { SES_SNS_TOPIC_ARNS: TEST_TOPIC_ARN, SENDGRID_WEBHOOK_PUBLIC_KEY: sendgrid.publicKeyBase64, MAILGUN_WEBHOOK_SIGNING_KEY: mailgun.signingKey },
    });
    api = await buildApp({
      config: stack.config, pool: stack.pool, temporal: stack.temporal, box: new SecretBox(stack.config.CREDENTIALS_KEY!),
      webhooks: { snsCertificateFetcher: sns.fetcher },
    });
  });
  afterAll(async () => {
    await api?.close();
    await stack?.close();
    for (const f of Object.values(fakes)) await f.stop();
  });

  const providerConfig = (k: Kind): Record<string, unknown> => ({
    ses: { region: 'us-east-1', accessKeyId: 'AKID', secretAccessKey: 'secret', endpoint: urls.ses },
    sendgrid: { apiKey: 'SG.key', endpoint: urls.sendgrid },
    mailgun: { apiKey: 'key-x', domain: 'mg.example.com', endpoint: urls.mailgun },
  })[k];

  async function bounce(kind: Kind, providerMessageId: string, email: string) {
    if (kind === 'ses') {
      return api.inject({ method: 'POST', url: '/webhooks/ses', headers: { 'content-type': 'text/plain; charset=UTF-8' }, payload: JSON.stringify(sns.notification(sesEvent('Bounce', providerMessageId, email))) });
    }
    if (kind === 'sendgrid') {
      const body = JSON.stringify([sendgridEvent('bounce', providerMessageId, email)]);
      return api.inject({ method: 'POST', url: '/webhooks/sendgrid', headers: sendgrid.sign(body), payload: body });
    }
    return api.inject({ method: 'POST', url: '/webhooks/mailgun', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(mailgun.body(mailgunEventData('failed', providerMessageId, email))) });
  }

  async function counts(client: { apiKey: string }, campaignId: string) {
    return json<{ counts: Record<string, number> }>(await stack.app.inject({ method: 'GET', url: `/v1/campaigns/${campaignId}`, headers: bearer(client.apiKey) })).counts;
  }

  async function upload(client: { apiKey: string }, campaignId: string, email: string) {
    return json<{ accepted: number; suppressed: number }>(await stack.app.inject({ method: 'POST', url: `/v1/campaigns/${campaignId}/leads`, headers: bearer(client.apiKey), payload: { leads: [{ email }] } }));
  }

  it.each(['ses', 'sendgrid', 'mailgun'] as const)('%s', async (kind) => {
    const provider = await newProvider(stack, kind, providerConfig(kind));
    const a = await newClient(stack);
    const b = await newClient(stack);

    // 1. Client A mails two leads; the provider accepts both.
    const first = await campaignWithLeads(stack, a, { providers: [provider.name], mailboxes: 1, leads: 2 });
    await first.start();
    await first.waitDone(90_000);
    const { rows } = await stack.pool.query<{ email: string; provider_message_id: string; status: string }>(
      `SELECT l.email, s.provider_message_id, s.status FROM sends s JOIN leads l ON l.id = s.lead_id WHERE s.campaign_id = $1 ORDER BY l.email`,
      [first.campaignId],
    );
    expect(rows.map((r) => r.status)).toEqual(['sent', 'sent']);
    const bouncing = rows[0]!;

    // 2. The provider reports a hard bounce for one of them, signed.
    const res = await bounce(kind, bouncing.provider_message_id, bouncing.email);
    expect([res.statusCode, json(res)]).toEqual([200, expect.objectContaining({ stored: 1, unmatched: 0 })]);
    const suppressed = await stack.pool.query('SELECT client_id, reason FROM suppressions WHERE email = $1', [bouncing.email.toLowerCase()]);
    expect(suppressed.rows).toEqual([{ client_id: a.id, reason: 'hard_bounce' }]);
    expect(await counts(a, first.campaignId)).toMatchObject({ sent: 1, bounced: 1 });

    // 3. A new campaign of client A skips the address: counted suppressed, never sent.
    const second = await campaignWithLeads(stack, a, { providers: [provider.name], mailboxes: 1, leads: 1 });
    expect(await upload(a, second.campaignId, bouncing.email)).toMatchObject({ accepted: 0, suppressed: 1 });
    await second.start();
    await second.waitDone(90_000);
    expect(await counts(a, second.campaignId)).toMatchObject({ sent: 1, suppressed: 1 });
    const sendsToIt = await stack.pool.query('SELECT count(*)::int AS n FROM sends s JOIN leads l ON l.id = s.lead_id WHERE l.campaign_id = $1 AND lower(l.email) = lower($2)', [second.campaignId, bouncing.email]);
    expect(sendsToIt.rows[0].n).toBe(0);

    // 4. Client B's campaign to the same address is not affected.
    const other = await campaignWithLeads(stack, b, { providers: [provider.name], mailboxes: 1, leads: 1 });
    expect(await upload(b, other.campaignId, bouncing.email)).toMatchObject({ accepted: 1, suppressed: 0 });
    await other.start();
    await other.waitDone(90_000);
    expect(await counts(b, other.campaignId)).toMatchObject({ sent: 2, suppressed: 0 });

    // The provider saw the address exactly twice: A's first campaign and B's campaign.
    const deliveries = deliveriesPerAddress(fakes[kind].messages as { to: string[] }[]);
    expect(deliveries.get(bouncing.email.toLowerCase()) ?? deliveries.get(bouncing.email)).toBe(2);
  }, 240_000);
});
