import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../api/app';
import { SecretBox } from '../../core/crypto';
import { createLogger } from '../../core/logger';
import { campaignWithLeads, newProvider } from '../helpers/campaign-fixture';
import { json, newClient, startStack, type Stack } from '../helpers/stack';
import {
  MailgunSigner, SendgridSigner, SnsSigner, TEST_TOPIC_ARN,
  mailgunEventData, sendgridEvent, sesEvent,
} from '../fakes/webhook-signers';

type Kind = 'ses' | 'sendgrid' | 'mailgun';

/**
 * Issue 11, point 10: a provider event settles a send only when it came from
 * the provider account the send went through and names the send's
 * recipient. Every event here is correctly signed; each names a real send by
 * its correlation id (or message id) but another recipient, another account
 * or another provider, and must settle nothing: no status, no suppression,
 * no event attributed to the victim's client.
 */
describe('webhook events that do not match their send settle nothing', () => {
  let stack: Stack;
  let app: FastifyInstance;
  const logLines: string[] = [];
  const sns = new SnsSigner();
  const sendgrid = new SendgridSigner();
  const mailgun = new MailgunSigner();

  beforeAll(async () => {
    stack = await startStack({
      env: { SES_SNS_TOPIC_ARNS: TEST_TOPIC_ARN, SENDGRID_WEBHOOK_PUBLIC_KEY: sendgrid.publicKeyBase64, MAILGUN_WEBHOOK_SIGNING_KEY: mailgun.signingKey },
    });
    const logs = new Writable({ write(chunk: Buffer, _enc, done) { logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean)); done(); } });
    app = await buildApp(
      { config: stack.config, pool: stack.pool, temporal: stack.temporal, box: new SecretBox(stack.config.CREDENTIALS_KEY!), webhooks: { snsCertificateFetcher: sns.fetcher } },
      { logger: createLogger('info', logs) },
    );
  });
  afterAll(async () => {
    await app?.close();
    await stack?.close();
  });

  const configs: Record<Kind, (tag: string) => Record<string, unknown>> = {
    ses: () => ({ region: 'eu-west-1', accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }),
    sendgrid: () => ({ apiKey: 'SG.test' }),
    mailgun: (tag) => ({ apiKey: 'key-test', domain: `mg-${tag}.example.com` }),
  };

  async function account(kind: Kind) {
    const tag = randomUUID().slice(0, 8);
    const config = configs[kind](tag);
    return { kind, ...(await newProvider(stack, kind, config)), domain: config.domain as string | undefined };
  }

  /** A client whose one lead was sent through `acct` (status `sent`): the send the events aim at. */
  async function sentThrough(acct: Awaited<ReturnType<typeof account>>) {
    const client = await newClient(stack);
    const c = await campaignWithLeads(stack, client, { providers: [acct.name], mailboxes: 1, leads: 1 });
    const { rows: [lead] } = await stack.pool.query<{ id: string; email: string }>('SELECT id, email FROM leads WHERE campaign_id = $1', [c.campaignId]);
    const id = randomUUID();
    const providerMessageId = acct.kind === 'mailgun' ? `<${randomUUID()}@${acct.domain}>` : `${acct.kind}-${randomUUID()}`;
    await stack.pool.query(
      `INSERT INTO sends (id, client_id, campaign_id, lead_id, step, mailbox_id, provider_account_id, provider_message_id, message_id_header, status, sent_at)
       VALUES ($1, $2, $3, $4, 0, $5, $6, $7, $8, 'sent', now())`,
      [id, client.id, c.campaignId, lead!.id, c.mailboxIds[0], acct.id, providerMessageId, `<${id}@send0.example.com>`],
    );
    await stack.pool.query("UPDATE leads SET status = 'done', mailbox_id = $2 WHERE id = $1", [lead!.id, c.mailboxIds[0]]);
    return { clientId: client.id, sendId: id, leadId: lead!.id, email: lead!.email, providerMessageId };
  }

  /** Everything an event could change for a client. */
  async function snapshot(clientId: string) {
    const q = async (sql: string) => (await stack.pool.query(sql, [clientId])).rows;
    return {
      sends: await q('SELECT id, status FROM sends WHERE client_id = $1 ORDER BY 1'),
      leads: await q('SELECT id, status FROM leads WHERE client_id = $1 ORDER BY 1'),
      suppressions: await q('SELECT email, reason FROM suppressions WHERE client_id = $1 ORDER BY 1'),
      events: await q('SELECT dedupe_key FROM events WHERE client_id = $1 ORDER BY 1'),
      alerts: await q('SELECT id FROM alerts WHERE client_id = $1'),
    };
  }

  const postMailgun = (eventData: unknown) =>
    app.inject({ method: 'POST', url: '/webhooks/mailgun', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(mailgun.body(eventData)) });
  const postSendgrid = (events: unknown[]) => {
    const body = JSON.stringify(events);
    return app.inject({ method: 'POST', url: '/webhooks/sendgrid', headers: sendgrid.sign(body), payload: body });
  };
  const postSes = (event: unknown) =>
    app.inject({ method: 'POST', url: '/webhooks/ses', headers: { 'content-type': 'text/plain; charset=UTF-8' }, payload: JSON.stringify(sns.notification(event)) });

  /** Mailgun's event-data as it sends it today: with the account's domain. */
  const mailgunFailed = (messageId: string, recipient: string, correlationId: string, domain: string | undefined) => ({
    ...mailgunEventData('failed', messageId, recipient, { correlationId }),
    ...(domain ? { domain: { name: domain } } : {}),
  });

  /** Posts one event that names `victim` and must change nothing for it; answered 200 with the event counted as mismatched. */
  async function expectIgnored(victim: { clientId: string; sendId: string }, post: () => Promise<LightMyRequestResponse>, reason: string) {
    const before = await snapshot(victim.clientId);
    const logsBefore = logLines.length;
    const res = await post();
    expect(await snapshot(victim.clientId)).toEqual(before);
    expect([res.statusCode, json(res)]).toEqual([200, expect.objectContaining({ stored: 0, mismatched: 1 })]);
    const logged = logLines.slice(logsBefore).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged).toContainEqual(expect.objectContaining({ msg: 'provider event does not match its send; ignored', sendId: victim.sendId, reason }));
    return logged;
  }

  describe('Mailgun', () => {
    it('an event naming another send\'s correlation id with another recipient settles nothing (the attacker\'s own send neither)', async () => {
      const acct = await account('mailgun');
      const victim = await sentThrough(acct);
      const attacker = await sentThrough(acct); // another client on the same shared account
      const attackerBefore = await snapshot(attacker.clientId);
      const logged = await expectIgnored(victim, () => postMailgun(mailgunFailed(attacker.providerMessageId, attacker.email, victim.sendId, acct.domain)), 'recipient');
      expect(await snapshot(attacker.clientId)).toEqual(attackerBefore);
      // Logged without the addresses in clear.
      for (const line of logged.map((l) => JSON.stringify(l))) for (const email of [victim.email, attacker.email]) expect(line).not.toContain(email);
      expect((await stack.pool.query('SELECT count(*)::int AS n FROM suppressions WHERE lower(email) = lower($1)', [victim.email])).rows[0].n).toBe(0);
    });

    it('an event with the right recipient from another Mailgun account (domain), or naming a send of another provider, settles nothing', async () => {
      const acct = await account('mailgun');
      const otherAcct = await account('mailgun');
      const victim = await sentThrough(acct);
      await expectIgnored(victim, () => postMailgun(mailgunFailed(victim.providerMessageId, victim.email, victim.sendId, otherAcct.domain)), 'account');
      const viaSendgrid = await sentThrough(await account('sendgrid'));
      await expectIgnored(viaSendgrid, () => postMailgun(mailgunFailed(`<${randomUUID()}@${acct.domain}>`, viaSendgrid.email, viaSendgrid.sendId, acct.domain)), 'provider');
    });

    it('an event whose message id is not the send\'s settles nothing; the genuine event (any letter case) settles it', async () => {
      const acct = await account('mailgun');
      const victim = await sentThrough(acct);
      await expectIgnored(victim, () => postMailgun(mailgunFailed(`<${randomUUID()}@${acct.domain}>`, victim.email, victim.sendId, acct.domain)), 'message_id');
      const res = await postMailgun(mailgunFailed(victim.providerMessageId, victim.email.toUpperCase(), victim.sendId, acct.domain));
      expect([res.statusCode, json(res)]).toEqual([200, { received: 1, stored: 1, duplicates: 0, unmatched: 0, mismatched: 0 }]);
      const after = await snapshot(victim.clientId);
      expect(after.sends).toEqual([{ id: victim.sendId, status: 'bounced' }]);
      expect(after.suppressions).toEqual([{ email: victim.email.toLowerCase(), reason: 'hard_bounce' }]);
    });
  });

  it('a send whose attempt was interrupted (no account recorded) is settled only by an event from one of its mailbox\'s accounts', async () => {
    const acct = await account('mailgun');
    const victim = await sentThrough(acct);
    // The worker died between the provider call and recording its answer: no account, no message id.
    await stack.pool.query(`UPDATE sends SET status = 'unknown', provider_account_id = NULL, provider_message_id = NULL, message_id_header = NULL WHERE id = $1`, [victim.sendId]);
    const otherAcct = await account('mailgun');
    await expectIgnored(victim, () => postMailgun(mailgunFailed(`<${randomUUID()}@${otherAcct.domain}>`, victim.email, victim.sendId, otherAcct.domain)), 'account');
    await expectIgnored(victim, () => postSendgrid([sendgridEvent('delivered', 'sg-any', victim.email, { correlation_id: victim.sendId })]), 'provider');
    const res = await postMailgun({ ...mailgunEventData('delivered', `<${randomUUID()}@${acct.domain}>`, victim.email, { correlationId: victim.sendId }), domain: { name: acct.domain } });
    expect(json(res)).toMatchObject({ stored: 1, mismatched: 0 });
    expect((await snapshot(victim.clientId)).sends).toEqual([{ id: victim.sendId, status: 'delivered' }]);
  });

  describe('SendGrid', () => {
    it('an event naming another send by correlation id with another recipient, or another message id, settles nothing', async () => {
      const acct = await account('sendgrid');
      const victim = await sentThrough(acct);
      const attacker = await sentThrough(acct);
      await expectIgnored(victim, () => postSendgrid([sendgridEvent('bounce', victim.providerMessageId, attacker.email, { correlation_id: victim.sendId })]), 'recipient');
      await expectIgnored(victim, () => postSendgrid([sendgridEvent('bounce', attacker.providerMessageId, victim.email, { correlation_id: victim.sendId })]), 'message_id');
      const viaMailgun = await sentThrough(await account('mailgun'));
      await expectIgnored(viaMailgun, () => postSendgrid([sendgridEvent('bounce', 'sg-unrelated', viaMailgun.email, { correlation_id: viaMailgun.sendId })]), 'provider');
      expect(await snapshot(attacker.clientId)).toMatchObject({ suppressions: [], events: [] });
    });
  });

  describe('SendGrid replay window', () => {
    it('by default a signed batch older than 10 minutes is refused and stores nothing; one within them is applied', async () => {
      const acct = await account('sendgrid');
      const target = await sentThrough(acct);
      const body = JSON.stringify([sendgridEvent('bounce', target.providerMessageId, target.email)]);
      const secondsAgo = (s: number) => String(Math.floor(Date.now() / 1000) - s);
      const before = await snapshot(target.clientId);
      const stale = await app.inject({ method: 'POST', url: '/webhooks/sendgrid', headers: sendgrid.sign(body, secondsAgo(11 * 60)), payload: body });
      expect([stale.statusCode, json<{ error: { code: string; message: string } }>(stale).error]).toEqual([401, { code: 'invalid_signature', message: 'SendGrid signature refused: timestamp too old' }]);
      expect(await snapshot(target.clientId)).toEqual(before);
      const fresh = await app.inject({ method: 'POST', url: '/webhooks/sendgrid', headers: sendgrid.sign(body, secondsAgo(9 * 60)), payload: body });
      expect(json(fresh)).toMatchObject({ stored: 1, mismatched: 0 });
      expect((await snapshot(target.clientId)).suppressions).toEqual([{ email: target.email.toLowerCase(), reason: 'hard_bounce' }]);
      expect(stack.config.SENDGRID_WEBHOOK_MAX_AGE_SECONDS).toBe(600); // the default: the stack does not set it
    });
  });

  describe('SES', () => {
    it('an event naming another send with another recipient, from another region, or of another provider, settles nothing', async () => {
      const acct = await account('ses');
      const victim = await sentThrough(acct);
      const attacker = await sentThrough(acct);
      await expectIgnored(victim, () => postSes(sesEvent('Bounce', victim.providerMessageId, attacker.email, { correlationId: victim.sendId })), 'recipient');
      const elsewhere = sesEvent('Bounce', victim.providerMessageId, victim.email, { correlationId: victim.sendId });
      const fromOtherRegion = { ...elsewhere, mail: { ...elsewhere.mail, sourceArn: 'arn:aws:ses:us-west-2:123456789012:identity/send0.example.com' } };
      await expectIgnored(victim, () => postSes(fromOtherRegion), 'account');
      const viaSendgrid = await sentThrough(await account('sendgrid'));
      await expectIgnored(viaSendgrid, () => postSes(sesEvent('Bounce', 'ses-unrelated', viaSendgrid.email, { correlationId: viaSendgrid.sendId })), 'provider');
      // From the account's own region, for the send's recipient: settled.
      const genuine = { ...elsewhere, mail: { ...elsewhere.mail, sourceArn: 'arn:aws:ses:eu-west-1:123456789012:identity/send0.example.com' } };
      expect(json(await postSes(genuine))).toMatchObject({ stored: 1, mismatched: 0 });
      expect((await snapshot(victim.clientId)).sends).toEqual([{ id: victim.sendId, status: 'bounced' }]);
    });
  });
});
