import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mailboxSample } from '../../db/repositories/reputation';
import { SendgridFake } from '../fakes/sendgrid-fake';
import { SmtpSink } from '../fakes/smtp-sink';
import { campaignWithLeads, newProvider } from '../helpers/campaign-fixture';
import { bearer, eventually, json, newClient, startStack, type Stack } from '../helpers/stack';

const WEEK_MS = 168 * 3_600_000;

/**
 * A permanent rejection of the recipient while sending is a hard bounce: the
 * send is `bounced`, the address is suppressed for that client, and it counts
 * in the mailbox's bounce rate, which the one reputation rule judges (at 50
 * a day, 3 such bounces cool the mailbox down with an alert). A rejection
 * about our relay or sender suppresses nobody. Real SMTP server (smtp-server)
 * and the SendGrid fake, real stack.
 */
describe('send-time hard bounces', () => {
  let stack: Stack;
  let sink: SmtpSink;
  const sendgrid = new SendgridFake();
  let sendgridUrl = '';
  let alertServer: http.Server;
  const posted: Record<string, unknown>[] = [];

  beforeAll(async () => {
    alertServer = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        posted.push(JSON.parse(body) as Record<string, unknown>);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => alertServer.listen(0, '127.0.0.1', () => r()));
    sink = await new SmtpSink().start();
    sendgridUrl = await sendgrid.start();
    stack = await startStack({ worker: true, env: { ALERT_WEBHOOK_URL: `http://127.0.0.1:${(alertServer.address() as AddressInfo).port}/alerts` } });
  });
  afterAll(async () => {
    await stack?.close();
    await sink?.stop();
    await sendgrid.stop();
    await new Promise((r) => alertServer?.close(r));
  });

  const sends = (campaignId: string) =>
    stack.pool.query<{ email: string; lead: string; send: string; last_error: string | null; sent_at: Date | null }>(
      `SELECT l.email, l.status AS lead, s.status AS send, s.last_error, s.sent_at FROM leads l JOIN sends s ON s.lead_id = l.id WHERE l.campaign_id = $1 ORDER BY l.email`,
      [campaignId],
    ).then((r) => r.rows);
  const suppressions = async (apiKey: string) =>
    json<{ items: { email: string; reason: string }[] }>(await stack.app.inject({ method: 'GET', url: '/v1/suppressions', headers: bearer(apiKey) })).items;
  const alertsOf = (mailboxId: string) =>
    stack.pool.query<{ kind: string; message: string; client_id: string }>('SELECT kind, message, client_id FROM alerts WHERE subject_id = $1', [mailboxId]).then((r) => r.rows);

  /** Uploads leads to a campaign after its first ones: later ids, so they go out last (leads go out in id order). */
  async function upload(apiKey: string, campaignId: string, emails: string[]) {
    const res = await stack.app.inject({ method: 'POST', url: `/v1/campaigns/${campaignId}/leads`, headers: bearer(apiKey), payload: { leads: emails.map((email) => ({ email })) } });
    expect(json(res)).toMatchObject({ accepted: emails.length });
  }
  const leadStatus = (campaignId: string, email: string) =>
    stack.pool.query<{ status: string }>('SELECT status FROM leads WHERE campaign_id = $1 AND email = $2', [campaignId, email]).then((r) => r.rows[0]?.status);

  it('SMTP 550 5.1.1 at RCPT: the send bounces, the address is suppressed for that client only and counts in the bounce rate; 2 in a day of 50 raise nothing', async () => {
    const provider = await newProvider(stack, 'smtp', { host: '127.0.0.1', port: sink.port });
    const client = await newClient(stack);
    const other = await newClient(stack);
    const c = await campaignWithLeads(stack, client, { providers: [provider.name], mailboxes: 1, leads: 48 });
    const refused = [0, 1].map((i) => `gone${i}-${c.tag}@leads.example.org`);
    await upload(client.apiKey, c.campaignId, refused);
    for (const e of refused) sink.rejectRecipient(e, 550, '5.1.1 No such user here');
    // The same address waits in another (draft) campaign of this client, and in one of another client.
    const later = await campaignWithLeads(stack, client, { providers: [provider.name], mailboxes: 1, leads: 1 });
    await upload(client.apiKey, later.campaignId, [refused[0]!]);
    const theirs = await campaignWithLeads(stack, other, { providers: [provider.name], mailboxes: 1, leads: 1 });
    await upload(other.apiKey, theirs.campaignId, [refused[0]!]);
    await c.start();
    await c.waitDone(120_000);

    const rows = await sends(c.campaignId);
    expect(rows).toHaveLength(50);
    for (const r of rows) {
      const bounced = refused.includes(r.email);
      expect({ email: r.email, lead: r.lead, send: r.send }).toEqual({ email: r.email, lead: bounced ? 'bounced' : 'done', send: bounced ? 'bounced' : 'sent' });
      if (bounced) {
        expect(r.last_error).toMatch(/550 5\.1\.1 No such user here/);
        expect(r.sent_at).not.toBeNull(); // stamped when refused: it is in the mailbox's sample
      }
    }
    expect([...sink.refused].filter((e) => refused.includes(e)).sort()).toEqual([...refused].sort());
    expect(sink.received.filter((m) => refused.includes(m.to[0]!))).toEqual([]);

    // Suppressed for this client (hard_bounce): its lead waiting elsewhere stops. Another client's does not.
    expect(await suppressions(client.apiKey)).toEqual([...refused].sort().map((email) => ({ email, reason: 'hard_bounce', createdAt: expect.any(String) })));
    expect(await leadStatus(later.campaignId, refused[0]!)).toBe('suppressed');
    expect(await suppressions(other.apiKey)).toEqual([]);
    expect(await leadStatus(theirs.campaignId, refused[0]!)).toBe('pending');
    // A bounced event of each send, under the provider kind that refused it.
    const events = await stack.pool.query(`SELECT e.type, e.provider_kind FROM events e JOIN sends s ON s.id = e.send_id WHERE s.campaign_id = $1`, [c.campaignId]);
    expect(events.rows).toEqual([{ type: 'bounced', provider_kind: 'smtp' }, { type: 'bounced', provider_kind: 'smtp' }]);

    // It counts in the mailbox's bounce rate: 2 of 50, a healthy day for the rule (lower bound 1.3%), so no alert.
    const mailboxId = c.mailboxIds[0]!;
    expect(await mailboxSample(stack.pool, mailboxId, WEEK_MS)).toEqual({ sends: 50, bounced: 2, complained: 0 });
    expect(await alertsOf(mailboxId)).toEqual([]);
    const live = json<{ live: { status: string } | null }>(await stack.app.inject({ method: 'GET', url: `/v1/mailboxes/${mailboxId}`, headers: bearer(client.apiKey) }));
    expect(live.live?.status).toBe('active');
  }, 180_000);

  it('at 50 sends a day, 3 hard bounces at send time cool the mailbox down and raise one alert naming it, the rate and the sample', async () => {
    const provider = await newProvider(stack, 'smtp', { host: '127.0.0.1', port: sink.port });
    const client = await newClient(stack);
    const c = await campaignWithLeads(stack, client, { providers: [provider.name], mailboxes: 1, leads: 47 });
    // Three more leads, uploaded after the others, so they go last: the third bounce is send 50.
    const late = [0, 1, 2].map((i) => `late${i}-${c.tag}@leads.example.org`);
    await upload(client.apiKey, c.campaignId, late);
    for (const e of late) sink.rejectRecipient(e, 550, '5.1.1 User unknown');
    await c.start();
    await c.waitDone(120_000);

    const mailboxId = c.mailboxIds[0]!;
    const expected = `mailbox ${mailboxId}: bounce rate 6.00% (3 of 50 sends; lower bound 2.42% at 95%) is above 2.00%; cooling down for 12 h`;
    expect(await alertsOf(mailboxId)).toEqual([{ kind: 'mailbox_bounce_rate', message: expected, client_id: client.id }]);
    await eventually(async () => posted.some((a) => a.subjectId === mailboxId));
    expect(posted.filter((a) => a.subjectId === mailboxId)).toEqual([expect.objectContaining({ kind: 'mailbox_bounce_rate', subjectType: 'mailbox', clientId: client.id, message: expected })]);
    const live = await eventually(async () => {
      const m = json<{ live: { status: string; cooldownUntil: string | null } | null }>(
        await stack.app.inject({ method: 'GET', url: `/v1/mailboxes/${mailboxId}`, headers: bearer(client.apiKey) }),
      );
      return m.live?.status === 'cooling_down' ? m.live : null;
    });
    const until = Date.parse(live.cooldownUntil!);
    expect(until).toBeGreaterThan(Date.now() + 11.9 * 3_600_000);
    expect(until).toBeLessThan(Date.now() + 12.1 * 3_600_000);
  }, 180_000);

  it('a 550 relay denial at RCPT suppresses no one: the lead waits and the mailbox pauses (its relay will not take mail)', async () => {
    const provider = await newProvider(stack, 'smtp', { host: '127.0.0.1', port: sink.port });
    const client = await newClient(stack);
    const c = await campaignWithLeads(stack, client, { providers: [provider.name], mailboxes: 1, leads: 3 });
    const denied = c.emails[1]!;
    sink.rejectRecipient(denied, 550, '5.7.1 Relaying denied');
    await c.start();
    const mailboxId = c.mailboxIds[0]!;
    await eventually(async () => (await stack.pool.query('SELECT status FROM mailboxes WHERE id = $1', [mailboxId])).rows[0].status === 'paused', 60_000);
    expect(sink.refused).toContain(denied);
    const row = (await sends(c.campaignId)).find((r) => r.email === denied)!;
    expect(row).toMatchObject({ lead: 'pending', send: 'pending' });
    expect(row.last_error).toMatch(/Relaying denied/);
    expect(await suppressions(client.apiKey)).toEqual([]);
    expect((await mailboxSample(stack.pool, mailboxId, WEEK_MS)).bounced).toBe(0);
    expect(await alertsOf(mailboxId)).toEqual([]);
  }, 120_000);

  it("a provider's invalid-recipient answer (SendGrid 400 on personalizations.0.to.0.email) bounces and suppresses the same way", async () => {
    const provider = await newProvider(stack, 'sendgrid', { apiKey: 'SG.key', endpoint: sendgridUrl });
    const client = await newClient(stack);
    const c = await campaignWithLeads(stack, client, { providers: [provider.name], mailboxes: 1, leads: 4 });
    const invalid = c.emails[2]!;
    sendgrid.rejectRecipient(invalid);
    await c.start();
    await c.waitDone(60_000);
    const rows = await sends(c.campaignId);
    for (const r of rows) {
      expect({ email: r.email, lead: r.lead, send: r.send }).toEqual(
        r.email === invalid ? { email: r.email, lead: 'bounced', send: 'bounced' } : { email: r.email, lead: 'done', send: 'sent' },
      );
    }
    expect(await suppressions(client.apiKey)).toEqual([{ email: invalid, reason: 'hard_bounce', createdAt: expect.any(String) }]);
    const events = await stack.pool.query(`SELECT e.type, e.provider_kind FROM events e JOIN sends s ON s.id = e.send_id WHERE s.campaign_id = $1`, [c.campaignId]);
    expect(events.rows).toEqual([{ type: 'bounced', provider_kind: 'sendgrid' }]);
    expect(await mailboxSample(stack.pool, c.mailboxIds[0]!, WEEK_MS)).toEqual({ sends: 4, bounced: 1, complained: 0 });
  }, 120_000);
});
