/**
 * Replies, auto-replies and bounces read from the mailboxes' own inboxes
 * (issue 12, point 1), end to end: the API, the worker with its inbox
 * watchers, PostgreSQL, a real Dovecot IMAP server (messages put in with
 * IMAP APPEND, as a delivery would) and an SMTP sink as the provider.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { SmtpSink, type ReceivedMail } from '../fakes/smtp-sink';
import { campaignWithLeads, deliveriesPerAddress, newProvider } from '../helpers/campaign-fixture';
import { Dovecot } from '../helpers/dovecot';
import { bearer, eventually, json, newClient, startStack, type Stack } from '../helpers/stack';
import { imapWatcherWorkflowId, mailboxWorkflowId } from '../../workflows/ids';
import { imapWatcherStateQuery } from '../../workflows/imap-watcher.workflow';
import { stateQuery } from '../../workflows/mailbox.workflow';

/** Step 2 is due this long after step 1: long enough for a reply to land first. */
const DELAY_DAYS = 15 / 86_400;

interface ReplyItem { id: string; kind: string; leadId: string; sendId: string; step: number; matchedBy: string; from: string; subject: string; text: string; source: string }

describe('inbound mail from the mailbox over IMAP (real Dovecot)', () => {
  let stack: Stack;
  let sink: SmtpSink;
  let dovecot: Dovecot;
  let alertServer: http.Server;
  const alerts: { kind: string; clientId: string | null; subjectId: string; message: string }[] = [];
  let providerName = '';

  beforeAll(async () => {
    alertServer = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        alerts.push(JSON.parse(body) as (typeof alerts)[number]);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => alertServer.listen(0, '127.0.0.1', () => r()));
    [sink, dovecot] = await Promise.all([new SmtpSink().start(), Dovecot.start()]);
    stack = await startStack({ worker: true, env: { ALERT_WEBHOOK_URL: `http://127.0.0.1:${(alertServer.address() as AddressInfo).port}/alerts` } });
    providerName = (await newProvider(stack, 'smtp', { host: '127.0.0.1', port: sink.port })).name;
  });
  afterAll(async () => {
    await stack?.close();
    await sink?.stop();
    await dovecot?.stop();
    await new Promise((r) => alertServer?.close(r));
  });

  /** A client's campaign (2 steps) on one mailbox whose inbox is a fresh Dovecot user. */
  async function imapCampaign(client: { id: string; apiKey: string }, opts: { leads?: number; password?: string; campaign?: Record<string, unknown> } = {}) {
    const account = await dovecot.addUser();
    const imap = { host: dovecot.host, port: dovecot.port, tls: false, user: account.user, password: opts.password ?? account.password };
    const c = await campaignWithLeads(stack, client, {
      providers: [providerName], mailboxes: 1, leads: opts.leads ?? 2, steps: [0, DELAY_DAYS], mailboxOverrides: { imap }, campaign: opts.campaign,
    });
    return { ...c, account, mailbox: c.addresses[0]!, mailboxId: c.mailboxIds[0]! };
  }

  const step1Of = (email: string): ReceivedMail => {
    const m = sink.received.find((r) => r.to[0] === email);
    if (!m) throw new Error(`no step 1 for ${email}`);
    return m;
  };
  const waitStep1 = (emails: string[]) => eventually(async () => emails.every((e) => sink.received.some((m) => m.to[0] === e)), 30_000, 20);

  function message(o: { from: string; to: string; subject: string; inReplyTo?: string; headers?: string; body?: string; messageId?: string }): string {
    return [
      `From: ${o.from}`,
      `To: ${o.to}`,
      `Subject: ${o.subject}`,
      `Message-ID: ${o.messageId ?? `<r-${randomUUID()}@leads.example.org>`}`,
      `Date: ${new Date().toUTCString()}`,
      ...(o.inReplyTo ? [`In-Reply-To: ${o.inReplyTo}`, `References: ${o.inReplyTo}`] : []),
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      ...(o.headers ? [o.headers] : []),
      '',
      o.body ?? 'Thanks, tell me more.',
      '',
    ].join('\n');
  }

  function hardBounce(o: { mailbox: string; lead: string; original: ReceivedMail }): string {
    return [
      'From: Mail Delivery System <MAILER-DAEMON@mx.leads.example.org>',
      `To: ${o.mailbox}`,
      'Subject: Undelivered Mail Returned to Sender',
      `Message-ID: <dsn-${randomUUID()}@mx.leads.example.org>`,
      `Date: ${new Date().toUTCString()}`,
      'Auto-Submitted: auto-replied',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="b-dsn"',
      '',
      '--b-dsn',
      'Content-Type: text/plain; charset=us-ascii',
      '',
      'Your message could not be delivered to one or more recipients.',
      '',
      '--b-dsn',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.leads.example.org',
      '',
      `Final-Recipient: rfc822; ${o.lead}`,
      'Action: failed',
      'Status: 5.1.1',
      `Diagnostic-Code: smtp; 550 5.1.1 <${o.lead}>: Recipient address rejected: User unknown`,
      '',
      '--b-dsn',
      'Content-Type: text/rfc822-headers',
      '',
      `From: ${o.mailbox}`,
      `To: ${o.lead}`,
      'Subject: Hello',
      `Message-ID: ${o.original.headers['message-id']}`,
      '',
      '--b-dsn--',
      '',
    ].join('\n');
  }

  const replies = async (client: { apiKey: string }, campaignId: string, query = '') =>
    stack.app.inject({ method: 'GET', url: `/v1/campaigns/${campaignId}/replies${query}`, headers: bearer(client.apiKey) });
  const leadStatus = async (campaignId: string, email: string) =>
    (await stack.pool.query<{ status: string }>('SELECT status FROM leads WHERE campaign_id = $1 AND email = $2', [campaignId, email])).rows[0]?.status;

  it('a reply to step 1 stops step 2 in every campaign of the client: stored, listed, one events row, a reply alert', async () => {
    const client = await newClient(stack);
    const c = await imapCampaign(client);
    const [replier, other] = c.emails as [string, string];
    // The same lead waits in a second campaign of the client (a draft): a reply stops it there too.
    const second = json<{ id: string }>(await stack.app.inject({
      method: 'POST', url: '/v1/campaigns', headers: bearer(client.apiKey),
      payload: { name: 'second', steps: [{ templateId: (await stack.pool.query<{ t: string }>("SELECT steps->0->>'templateId' AS t FROM campaigns WHERE id = $1", [c.campaignId])).rows[0]!.t, delayDays: 0 }], mailboxes: { pool: c.pool } },
    }));
    await stack.app.inject({ method: 'POST', url: `/v1/campaigns/${second.id}/leads`, headers: bearer(client.apiKey), payload: { leads: [{ email: replier }] } });

    await c.start();
    await waitStep1(c.emails);
    const first = step1Of(replier);
    const raw = message({ from: `Ann Lead <${replier.toUpperCase()}>`, to: c.mailbox, subject: 'Re: Hello L0', inReplyTo: first.headers['message-id'], body: 'Yes, let us talk on Monday.' });
    await dovecot.append(c.account, raw);

    const listed = await eventually(async () => {
      const items = json<{ items: ReplyItem[] }>(await replies(client, c.campaignId)).items;
      return items.length === 1 ? items : null;
    }, 20_000);
    const { rows: [send] } = await stack.pool.query<{ id: string; lead_id: string }>(
      'SELECT s.id, s.lead_id FROM sends s JOIN leads l ON l.id = s.lead_id WHERE s.campaign_id = $1 AND l.email = $2 AND s.step = 0', [c.campaignId, replier]);
    expect(listed[0]).toMatchObject({
      kind: 'reply', leadId: send!.lead_id, sendId: send!.id, step: 1, matchedBy: 'message_id', source: 'imap',
      from: replier, subject: 'Re: Hello L0', text: expect.stringContaining('let us talk on Monday'),
    });
    expect(await leadStatus(c.campaignId, replier)).toBe('replied');
    expect(await leadStatus(second.id, replier)).toBe('replied');

    await c.waitDone(90_000);
    const counts = deliveriesPerAddress(sink.received);
    expect({ replier: counts.get(replier), other: counts.get(other) }).toEqual({ replier: 1, other: 2 });

    const events = await stack.pool.query('SELECT client_id, send_id, provider_kind, type FROM events WHERE send_id = $1', [send!.id]);
    expect(events.rows).toEqual([{ client_id: client.id, send_id: send!.id, provider_kind: 'imap', type: 'replied' }]);
    const alert = await eventually(async () => alerts.find((a) => a.kind === 'reply' && a.subjectId === c.campaignId));
    expect(alert).toMatchObject({ clientId: client.id });
    expect(alert.message).not.toContain(replier);

    // The same message delivered again (a second copy in the inbox) changes nothing.
    await dovecot.append(c.account, raw);
    // A later reply from the other lead, after its step 2: two replies, one page each.
    await dovecot.append(c.account, message({ from: other, to: c.mailbox, subject: 'Re: Hello L1', inReplyTo: sink.received.filter((m) => m.to[0] === other)[1]!.headers['message-id'] }));
    await eventually(async () => json<{ items: ReplyItem[] }>(await replies(client, c.campaignId)).items.length === 2, 20_000);
    const page1 = json<{ items: ReplyItem[]; nextCursor: string }>(await replies(client, c.campaignId, '?limit=1'));
    expect(page1.items.map((i) => i.from)).toEqual([replier]);
    const page2 = json<{ items: ReplyItem[]; nextCursor: string | null }>(await replies(client, c.campaignId, `?limit=1&cursor=${page1.nextCursor}`));
    expect(page2).toMatchObject({ items: [{ from: other, step: 2 }], nextCursor: null });
    expect((await stack.pool.query("SELECT count(*)::int AS n FROM events WHERE provider_kind = 'imap' AND type = 'replied' AND client_id = $1", [client.id])).rows[0].n).toBe(2);
    // Another client's key: the campaign does not exist for it.
    const stranger = await newClient(stack);
    expect((await replies(stranger, c.campaignId)).statusCode).toBe(404);
    expect((await replies(client, c.campaignId, '?cursor=nope')).statusCode).toBe(400);
  }, 150_000);

  it('an out-of-office is recorded as an auto-reply and does not stop the sequence', async () => {
    const client = await newClient(stack);
    const c = await imapCampaign(client);
    const [away, other] = c.emails as [string, string];
    await c.start();
    await waitStep1(c.emails);
    await dovecot.append(c.account, message({
      from: away, to: c.mailbox, subject: 'Automatic reply: Hello L0', inReplyTo: step1Of(away).headers['message-id'],
      headers: 'Auto-Submitted: auto-replied\nX-Auto-Response-Suppress: All', body: 'I am out of the office until Monday.',
    }));
    const listed = await eventually(async () => {
      const items = json<{ items: ReplyItem[] }>(await replies(client, c.campaignId)).items;
      return items.length === 1 ? items : null;
    }, 20_000);
    expect(listed[0]).toMatchObject({ kind: 'auto_reply', from: away, step: 1, matchedBy: 'message_id' });
    expect(await leadStatus(c.campaignId, away)).toBe('active');
    await c.waitDone(90_000);
    const counts = deliveriesPerAddress(sink.received);
    expect({ away: counts.get(away), other: counts.get(other) }).toEqual({ away: 2, other: 2 });
    const types = await stack.pool.query("SELECT type FROM events WHERE provider_kind = 'imap' AND client_id = $1", [client.id]);
    expect(types.rows).toEqual([{ type: 'auto_replied' }]);
    expect(alerts.some((a) => a.kind === 'reply' && a.subjectId === c.campaignId)).toBe(false);
  }, 120_000);

  it('in a campaign with stopOnAutoReply, an out-of-office stops that lead there', async () => {
    const client = await newClient(stack);
    const c = await imapCampaign(client, { campaign: { stopOnAutoReply: true } });
    const [away, other] = c.emails as [string, string];
    await c.start();
    await waitStep1(c.emails);
    await dovecot.append(c.account, message({ from: away, to: c.mailbox, subject: 'Out of Office: Hello L0', inReplyTo: step1Of(away).headers['message-id'] }));
    await eventually(async () => (await leadStatus(c.campaignId, away)) === 'done', 20_000);
    await c.waitDone(90_000);
    const counts = deliveriesPerAddress(sink.received);
    expect({ away: counts.get(away), other: counts.get(other) }).toEqual({ away: 1, other: 2 });
    expect(json<{ items: ReplyItem[] }>(await replies(client, c.campaignId)).items.map((i) => i.kind)).toEqual(['auto_reply']);
  }, 120_000);

  it('a DSN for a hard bounce settles the send as bounced and suppresses the address for the client', async () => {
    const client = await newClient(stack);
    const c = await imapCampaign(client);
    const [gone, other] = c.emails as [string, string];
    await c.start();
    await waitStep1(c.emails);
    await dovecot.append(c.account, hardBounce({ mailbox: c.mailbox, lead: gone, original: step1Of(gone) }));

    const suppressed = await eventually(async () => {
      const list = json<{ items: { email: string; reason: string }[] }>(await stack.app.inject({ method: 'GET', url: '/v1/suppressions', headers: bearer(client.apiKey) }));
      return list.items.find((s) => s.email === gone) ?? null;
    }, 20_000);
    expect(suppressed.reason).toBe('hard_bounce');
    const { rows: [send] } = await stack.pool.query<{ id: string; status: string }>(
      'SELECT s.id, s.status FROM sends s JOIN leads l ON l.id = s.lead_id WHERE s.campaign_id = $1 AND l.email = $2 AND s.step = 0', [c.campaignId, gone]);
    expect(send!.status).toBe('bounced');
    expect(await leadStatus(c.campaignId, gone)).toBe('bounced');
    const events = await stack.pool.query('SELECT client_id, provider_kind, type FROM events WHERE send_id = $1', [send!.id]);
    expect(events.rows).toEqual([{ client_id: client.id, provider_kind: 'imap', type: 'bounced' }]);
    await c.waitDone(90_000);
    const counts = deliveriesPerAddress(sink.received);
    expect({ gone: counts.get(gone), other: counts.get(other) }).toEqual({ gone: 1, other: 2 });
    expect(json<{ items: ReplyItem[] }>(await replies(client, c.campaignId)).items).toEqual([]);
    // Only this client's list: another client may still mail the address.
    const otherClient = await newClient(stack);
    const theirs = json<{ items: { email: string }[] }>(await stack.app.inject({ method: 'GET', url: '/v1/suppressions', headers: bearer(otherClient.apiKey) }));
    expect(theirs.items).toEqual([]);
  }, 120_000);

  it('a reply naming another client\'s send, from that client\'s lead, is never matched across tenants', async () => {
    const clientA = await newClient(stack);
    const clientB = await newClient(stack);
    const a = await imapCampaign(clientA, { leads: 1 });
    const b = await imapCampaign(clientB, { leads: 1 });
    await Promise.all([a.start(), b.start()]);
    await waitStep1([...a.emails, ...b.emails]);
    const victim = b.emails[0]!;
    // Into A's inbox: B's lead "replies" to B's send (its Message-ID and its address), as a forwarded or forged mail would.
    const forged = `<x-${randomUUID()}@leads.example.org>`;
    await dovecot.append(a.account, message({ from: victim, to: a.mailbox, subject: 'Re: Hello', inReplyTo: step1Of(victim).headers['message-id'], messageId: forged }));
    const stored = await eventually(async () => {
      const { rows } = await stack.pool.query<{ client_id: string | null; send_id: string | null; type: string }>(
        "SELECT client_id, send_id, type FROM events WHERE provider_kind = 'imap' AND payload->>'messageId' = $1", [forged]);
      return rows[0] ?? null;
    }, 20_000);
    // Recorded against A's mailbox, matched to nothing.
    expect(stored).toEqual({ client_id: clientA.id, send_id: null, type: 'replied' });
    await Promise.all([a.waitDone(90_000), b.waitDone(90_000)]);
    const counts = deliveriesPerAddress(sink.received);
    expect({ victim: counts.get(victim), a: counts.get(a.emails[0]!) }).toEqual({ victim: 2, a: 2 });
    expect(await leadStatus(b.campaignId, victim)).toBe('done');
    expect(json<{ items: ReplyItem[] }>(await replies(clientB, b.campaignId)).items).toEqual([]);
    expect(json<{ items: ReplyItem[] }>(await replies(clientA, a.campaignId)).items).toEqual([]);
    expect(alerts.some((x) => x.clientId === clientB.id && x.kind === 'reply')).toBe(false);
  }, 150_000);

  it('bad IMAP credentials alert and pause only the watcher: sending goes on; new settings resume it', async () => {
    const client = await newClient(stack);
    const c = await imapCampaign(client, { password: 'not-the-password' });
    const auth = bearer(client.apiKey);
    const alert = await eventually(async () => alerts.find((a) => a.kind === 'imap_auth_failed' && a.subjectId === c.mailboxId), 30_000);
    expect(alert.clientId).toBe(client.id);
    const watcher = stack.temporal.workflow.getHandle(imapWatcherWorkflowId(c.mailbox));
    await eventually(async () => (await watcher.query(imapWatcherStateQuery)).status === 'auth_failed');

    // The mailbox sends as ever: not paused, and the campaign delivers both steps.
    const live = await stack.temporal.workflow.getHandle(mailboxWorkflowId(c.mailbox)).query(stateQuery, Date.now());
    expect(live).toMatchObject({ status: 'active', pauseReason: null });
    await c.start();
    await c.waitDone(90_000);
    const counts = deliveriesPerAddress(sink.received);
    expect(c.emails.map((e) => counts.get(e))).toEqual([2, 2]);
    const shown = json<{ status: string; imap: Record<string, unknown> }>(await stack.app.inject({ method: 'GET', url: `/v1/mailboxes/${c.mailboxId}`, headers: auth }));
    expect(shown.status).toBe('active');
    expect(shown.imap).toMatchObject({ host: dovecot.host, port: dovecot.port, tls: false, user: c.account.user, status: 'auth_failed', lastError: 'authentication failed' });
    // One alert for the failure, however many sessions saw it.
    expect(alerts.filter((a) => a.kind === 'imap_auth_failed' && a.subjectId === c.mailboxId)).toHaveLength(1);

    // The right password: the watcher tries it at once and reads what arrived meanwhile.
    const lead = c.emails[0]!;
    await dovecot.append(c.account, message({ from: lead, to: c.mailbox, subject: 'Re: Hello L0', inReplyTo: step1Of(lead).headers['message-id'] }));
    const put = await stack.app.inject({
      method: 'PUT', url: `/v1/mailboxes/${c.mailboxId}/imap`, headers: auth,
      payload: { host: dovecot.host, port: dovecot.port, tls: false, user: c.account.user, password: c.account.password },
    });
    expect(put.statusCode).toBe(200);
    expect(put.body).not.toContain(c.account.password);
    expect(json<{ imap: { status: string } }>(put).imap.status).toBe('active');
    await eventually(async () => json<{ items: ReplyItem[] }>(await replies(client, c.campaignId)).items.length === 1, 20_000);
    expect((await watcher.query(imapWatcherStateQuery)).status).toBe('watching');
  }, 150_000);

  it('IMAP settings: bad ones are a 400 naming the field; the password is sealed at rest and never shown', async () => {
    const client = await newClient(stack);
    const c = await imapCampaign(client, { leads: 1 });
    const auth = bearer(client.apiKey);
    const bad = await stack.app.inject({ method: 'PUT', url: `/v1/mailboxes/${c.mailboxId}/imap`, headers: auth, payload: { host: dovecot.host, port: 'x', user: 'u' } });
    expect(bad.statusCode).toBe(400);
    const paths = json<{ error: { details: { path: string }[] } }>(bad).error.details.map((d) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['port', 'password']));
    const imported = await stack.app.inject({
      method: 'POST', url: '/v1/mailboxes', headers: auth,
      payload: { mailboxes: [{ address: `x-${randomUUID().slice(0, 8)}@send.example.com`, providers: [providerName], imap: { host: 'imap.example.com', port: 70000, user: 'u', password: 'p', extra: 1 } }] },
    });
    expect(imported.statusCode).toBe(400);
    expect(json<{ errors: { path: string }[] }>(imported).errors.map((e) => e.path).sort()).toEqual(['mailboxes.0.imap.extra', 'mailboxes.0.imap.port']);
    const other = await newClient(stack);
    const foreign = await stack.app.inject({
      method: 'PUT', url: `/v1/mailboxes/${c.mailboxId}/imap`, headers: bearer(other.apiKey),
      payload: { host: '127.0.0.1', port: 1, tls: false, user: 'x', password: 'y' },
    });
    expect(foreign.statusCode).toBe(404);
    const stored = await stack.pool.query<{ password_encrypted: string }>('SELECT password_encrypted FROM mailbox_imap WHERE mailbox_id = $1', [c.mailboxId]);
    expect(stored.rows[0]!.password_encrypted).toMatch(/^v1:/);
    expect(stored.rows[0]!.password_encrypted).not.toContain(c.account.password);
    for (const url of [`/v1/mailboxes/${c.mailboxId}`, '/v1/mailboxes']) {
      const res = await stack.app.inject({ method: 'GET', url, headers: auth });
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain(c.account.user);
      expect(res.body).not.toContain(c.account.password);
    }
    // Removing the settings ends the watcher.
    const removed = await stack.app.inject({ method: 'DELETE', url: `/v1/mailboxes/${c.mailboxId}/imap`, headers: auth });
    expect(json<{ imap: unknown }>(removed).imap).toBeNull();
    await eventually(async () => (await stack.temporal.workflow.getHandle(imapWatcherWorkflowId(c.mailbox)).describe()).status.name !== 'RUNNING');
  }, 90_000);
});
