/**
 * Issue 11, point 8: nothing a client or a lead supplies may split a mail
 * header. CR, LF and the other control characters are refused where they
 * enter (a 400 naming the field, or a lead reported invalid naming its
 * variable) and, in case one was stored anyway, at send time: a subject that
 * would carry one fails that lead's send for good, and a sender display name
 * that would carry one pauses its mailbox as misconfigured. Either way,
 * nothing goes out.
 */
import { randomUUID } from 'node:crypto';
import { mailboxWorkflowId } from '../../workflows/ids';
import { stateQuery } from '../../workflows/mailbox.workflow';
import { SmtpFake } from '../fakes/smtp-fake';
import { ALWAYS_OPEN, campaignWithLeads, FAST_LIMITS, newProvider } from '../helpers/campaign-fixture';
import { bearer, eventually, json, newClient, startStack, type Stack } from '../helpers/stack';
import { verifyStackDomains } from '../helpers/verified-domains';

type ErrorBody = { error: { code: string; message: string; details?: { path: string; message: string }[] } };
type Report = { accepted: number; duplicates: number; suppressed: number; invalid: { row: number; message: string }[] };

const U = '{{unsubscribeUrl}}';
const INJECTED = 'Ann\r\nBcc: victim@evil.example';

describe('mail headers: no CR, LF or control character reaches a header', () => {
  let stack: Stack;
  let client: { id: string; apiKey: string };
  const smtp = new SmtpFake();

  beforeAll(async () => {
    await smtp.start();
    stack = await startStack({ worker: true });
    client = await newClient(stack);
  });
  afterAll(async () => {
    await stack?.close();
    await smtp.stop();
  });

  const post = (url: string, payload: object, key = client.apiKey) => stack.app.inject({ method: 'POST', url, headers: bearer(key), payload });
  const templateCount = async () =>
    (await stack.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM templates WHERE client_id = $1', [client.id])).rows[0]!.n;

  it.each([
    ['CR LF', 'Hello\r\nBcc: victim@evil.example', 'U+000D'],
    ['LF', 'Hello\nBcc: victim@evil.example', 'U+000A'],
    ['NUL', 'Hello\u0000there', 'U+0000'],
    ['a line separator', 'Hello\u2028there', 'U+2028'],
    ['NEL', 'Hello\u0085there', 'U+0085'],
  ])('a template subject with %s is a 400 naming subject, nothing stored', async (_name, subject, shown) => {
    const before = await templateCount();
    const res = await post('/v1/templates', { name: 't', subject, text: `Hi\r\nthere\n${U}` });
    expect(res.statusCode).toBe(400);
    const body = json<ErrorBody>(res);
    expect(body.error.code).toBe('validation_failed');
    expect(body.error.details).toEqual([{ path: 'subject', message: expect.stringContaining(shown) }]);
    expect(body.error.details![0]!.message).toMatch(/line break or control character/);
    expect(await templateCount()).toBe(before);
  });

  it('a NUL in a template body is a 400 naming the field, not a 500 from the database', async () => {
    const before = await templateCount();
    const res = await post('/v1/templates', { name: 't', subject: 's', text: `Hi\u0000 ${U}` });
    expect(res.statusCode).toBe(400);
    expect(json<ErrorBody>(res).error.details).toEqual([{ path: 'text', message: 'must not contain a NUL character (U+0000) at line 1, column 3' }]);
    expect(await templateCount()).toBe(before);
  });

  it('line breaks stay allowed in bodies, and a tab in a subject', async () => {
    const res = await post('/v1/templates', { name: 't', subject: 'Hello\tthere', text: `Hi\r\nthere\n${U}`, html: `<p>\r\n</p>${U}` });
    expect(res.statusCode).toBe(201);
  });

  it('a mailbox display name with CR LF is refused naming it; the other rows import', async () => {
    const provider = await newProvider(stack, 'smtp', { host: '127.0.0.1', port: smtp.port });
    const tag = randomUUID().slice(0, 8);
    await verifyStackDomains(stack, client.apiKey, [`send-${tag}.example.com`]);
    const res = await post('/v1/mailboxes', {
      mailboxes: [
        { address: `bad-${tag}@send-${tag}.example.com`, displayName: INJECTED, providers: [provider.name] },
        { address: `good-${tag}@send-${tag}.example.com`, displayName: 'Ann Smith', providers: [provider.name] },
      ],
    });
    expect(res.statusCode).toBe(201);
    const answer = json<{ created: number; errors: { index: number; path: string; message: string }[] }>(res);
    expect(answer.created).toBe(1);
    expect(answer.errors).toEqual([{ index: 0, path: 'mailboxes.0.displayName', message: expect.stringMatching(/line break or control character \(U\+000D/) }]);
    const { rows } = await stack.pool.query('SELECT address FROM mailboxes WHERE address LIKE $1', [`%-${tag}@send-${tag}.example.com`]);
    expect(rows.map((r) => r.address)).toEqual([`good-${tag}@send-${tag}.example.com`]);
  });

  describe('lead variables that reach a subject', () => {
    let campaignId: string;
    beforeAll(async () => {
      const first = json<{ id: string }>(await post('/v1/templates', { name: 'a', subject: 'About {{company}}, {{fullName|you}}', text: `{{note}} ${U}`, variables: ['note'] }));
      const second = json<{ id: string }>(await post('/v1/templates', { name: 'b', subject: 'Re: {{title|hello}}', text: `{{note}} ${U}`, variables: ['note'] }));
      const camp = await post('/v1/campaigns', {
        name: `c-${randomUUID().slice(0, 8)}`, steps: [{ templateId: first.id, delayDays: 0 }, { templateId: second.id, delayDays: 2 }], mailboxes: { pool: 'p' },
      });
      expect(camp.statusCode).toBe(201);
      campaignId = json<{ id: string }>(camp).id;
    });
    const stored = async () =>
      (await stack.pool.query<{ email: string }>('SELECT email FROM leads WHERE campaign_id = $1 ORDER BY email', [campaignId])).rows.map((r) => r.email);

    it('JSON: a lead whose subject variable holds CR LF is reported invalid naming it; a line break in a body variable is fine', async () => {
      const res = await post(`/v1/campaigns/${campaignId}/leads`, {
        leads: [
          { email: 'a@leads.example.org', vars: { company: INJECTED } },
          { email: 'b@leads.example.org', vars: { note: 'line one\r\nline two', company: 'Acme' } },
          { email: 'c@leads.example.org', vars: { lastName: 'Smith\nBcc: victim@evil.example' } }, // {{fullName}} is firstName + lastName
          { email: 'd@leads.example.org', vars: { title: 'CEO\u001b[2J' } }, // the second step's subject
          { email: 'e@leads.example.org', vars: { note: 'a\u0000b' } }, // not a header, but PostgreSQL cannot store U+0000
        ],
      });
      expect(res.statusCode).toBe(200);
      expect(json<Report>(res)).toEqual({
        accepted: 1, duplicates: 0, suppressed: 0,
        invalid: [
          { row: 1, message: expect.stringMatching(/^leads\.0\.vars\.company: .*line break or control character \(U\+000D/) },
          { row: 3, message: expect.stringMatching(/^leads\.2\.vars\.lastName: .*line break or control character \(U\+000A/) },
          { row: 4, message: expect.stringMatching(/^leads\.3\.vars\.title: .*line break or control character \(U\+001B/) },
          { row: 5, message: 'leads.4.vars.note: must not contain a NUL character (U+0000)' },
        ],
      });
      expect(await stored()).toEqual(['b@leads.example.org']);
    });

    it('CSV: the same, with the value quoted over two lines', async () => {
      const res = await stack.app.inject({
        method: 'POST', url: `/v1/campaigns/${campaignId}/leads`, headers: { ...bearer(client.apiKey), 'content-type': 'text/csv' },
        payload: 'email,company,note\r\ne@leads.example.org,"Acme\r\nBcc: victim@evil.example",x\r\nf@leads.example.org,Acme,"two\r\nlines"\r\n',
      });
      expect(res.statusCode).toBe(200);
      expect(json<Report>(res)).toEqual({
        accepted: 1, duplicates: 0, suppressed: 0,
        invalid: [{ row: 1, message: expect.stringMatching(/^company: .*line break or control character/) }],
      });
      expect(await stored()).toEqual(['b@leads.example.org', 'f@leads.example.org']);
    });
  });

  it('preview: a sender name or a subject variable with CR LF is a 400 naming it', async () => {
    const tpl = json<{ id: string }>(await post('/v1/templates', { name: 'p', subject: 'Hi {{firstName}}', text: `{{note}} ${U}`, variables: ['note'] }));
    const url = `/v1/templates/${tpl.id}/preview`;
    const bySender = await post(url, { lead: { email: 'a@leads.example.org' }, sender: { name: INJECTED } });
    expect(bySender.statusCode).toBe(400);
    expect(json<ErrorBody>(bySender).error.details).toEqual([{ path: 'sender.name', message: expect.stringMatching(/line break or control character/) }]);
    const byVar = await post(url, { lead: { email: 'a@leads.example.org', vars: { firstName: INJECTED } } });
    expect(byVar.statusCode).toBe(400);
    expect(json<ErrorBody>(byVar).error.details).toEqual([{ path: 'lead.vars.firstName', message: expect.stringMatching(/line break or control character/) }]);
    const bodyOnly = await post(url, { lead: { email: 'a@leads.example.org', vars: { firstName: 'Ann', note: 'two\r\nlines' } } });
    expect(bodyOnly.statusCode).toBe(200);
  });

  it('at send time, a stored subject variable with CR LF fails that lead for good and a stored display name pauses its mailbox; nothing goes out', async () => {
    const provider = await newProvider(stack, 'smtp', { host: '127.0.0.1', port: smtp.port });
    const owner = await newClient(stack);
    const c = await campaignWithLeads(stack, owner, { providers: [provider.name], mailboxes: 2, leads: 6 });
    // Stored before these checks existed (or written around the API): the database holds what the API now refuses.
    const poisoned = c.emails[0]!;
    await stack.pool.query(`UPDATE leads SET vars = $2 WHERE campaign_id = $1 AND email = $3`, [c.campaignId, { firstName: INJECTED }, poisoned]);
    const pool = (await stack.pool.query('SELECT pool FROM mailboxes WHERE id = $1', [c.mailboxIds[0]])).rows[0].pool as string;
    const brokenAddress = `broken-${c.tag}@send-${c.tag}.example.com`;
    await verifyStackDomains(stack, owner.apiKey, [brokenAddress]);
    const imported = json<{ ids: string[] }>(await post('/v1/mailboxes', {
      mailboxes: [{ address: brokenAddress, pool, providers: [provider.name], warmup: null, window: ALWAYS_OPEN, limits: FAST_LIMITS }],
    }, owner.apiKey));
    const brokenId = imported.ids[0]!;
    await stack.pool.query('UPDATE mailboxes SET display_name = $2 WHERE id = $1', [brokenId, INJECTED]);
    await c.start();
    await c.waitDone();

    const mine = smtp.messages.filter((m) => m.to.some((t) => c.emails.includes(t)));
    expect(mine.map((m) => m.to[0]).sort()).toEqual(c.emails.filter((e) => e !== poisoned).sort());
    for (const m of mine) {
      expect(m.raw).not.toMatch(/victim@evil\.example/);
      expect(m.headers.bcc).toBeUndefined();
    }
    const lead = await stack.pool.query<{ lead: string; send: string; error: string }>(
      `SELECT l.status AS lead, s.status AS send, s.last_error AS error FROM leads l JOIN sends s ON s.lead_id = l.id WHERE l.campaign_id = $1 AND l.email = $2`,
      [c.campaignId, poisoned],
    );
    expect(lead.rows).toEqual([{ lead: 'failed', send: 'failed', error: expect.stringMatching(/subject .*line break or control character \(U\+000D/) }]);

    // The mailbox with the poisoned display name was given leads, refused to send them and paused itself;
    // the campaign's other mailboxes sent them instead.
    const live = await stack.temporal.workflow.getHandle(mailboxWorkflowId(brokenAddress)).query(stateQuery, Date.now());
    expect(live).toMatchObject({ status: 'paused', pauseReason: 'sender_misconfigured' });
    await eventually(async () => (await stack.pool.query('SELECT status FROM mailboxes WHERE id = $1', [brokenId])).rows[0].status === 'paused');
    expect(smtp.messages.filter((m) => m.from === brokenAddress)).toEqual([]);
  }, 120_000);
});
