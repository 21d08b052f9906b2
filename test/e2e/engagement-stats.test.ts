/**
 * Issue 12, points 5 and 6 on the real stack: a two-step campaign with open
 * and click tracking goes out through the SMTP sink; the test reads the
 * tracking links from the mail as the recipient got it, opens and clicks
 * (as a person, as Apple's proxy, as a scanner, within seconds of the send),
 * tries forged tokens and tokens across clients, sends signed feedback
 * (Mailgun webhooks: the SMTP account is its relay), replies (events rows of
 * the reply ingestion's shape) and an unsubscribe, and reads
 * GET /v1/campaigns/:id/stats and /metrics against the rows.
 */
import { randomUUID } from 'node:crypto';
import { PIXEL_GIF } from '../../api/routes/tracking';
import { makeTrackingToken, readTrackingToken, trackingKey } from '../../core/tracking/token';
import { uuidv7 } from '../../core/ids';
import { SmtpSink, type ReceivedMail } from '../fakes/smtp-sink';
import { MailgunSigner, mailgunEventData } from '../fakes/webhook-signers';
import { campaignWithLeads } from '../helpers/campaign-fixture';
import { partOf } from '../helpers/mime';
import { bearer, json, newSmtpProvider, startStack, type Stack } from '../helpers/stack';

const SAFARI = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15';
const LINKS = ['https://acme.example/pricing?ref=mail&x=1', 'https://acme.example/demo'];
const TEMPLATE = {
  subject: 'A quick idea, {{firstName|there}}',
  text: 'Hi {{firstName|there}}, pricing: https://acme.example/pricing\nUnsubscribe: {{unsubscribeUrl}}',
  html: '<html><body><p>Hi {{firstName|there}},</p><p><a href="https://acme.example/pricing?ref=mail&amp;x=1">Pricing</a> · '
    + '<a href="https://acme.example/demo">Book a demo</a> · <a href="mailto:sales@acme.example">Mail us</a></p>'
    + '<p><a href="{{unsubscribeUrl}}">Unsubscribe</a></p></body></html>',
};

interface SentMail {
  sendId: string;
  step: number;
  email: string;
  html: string;
  text: string;
  /** Paths (with the host they were on) of the pixel and the click links, in the order of the message. */
  pixel: URL | null;
  clicks: URL[];
  unsubscribe: string;
  messageIdHeader: string;
}

type Stats = {
  campaignId: string;
  tracking: { opens: boolean; clicks: boolean };
  steps: ({ step: number; templateId: string } & Figures)[];
  total: Figures;
};
type Figures = {
  sent: number; delivered: number; bounced: { hard: number; soft: number }; complained: number;
  opened: number; clicked: number; prefetched: { opened: number; clicked: number };
  replied: number; autoReplied: number; unsubscribed: number; rates: Record<string, number | null>;
};

describe('opens, clicks and per-step statistics (real stack, SMTP sink, signed feedback)', () => {
  let stack: Stack;
  let sink: SmtpSink;
  const mailgun = new MailgunSigner();
  const trackingHost = `track-${randomUUID().slice(0, 8)}.acme.example`;
  let a: { id: string; apiKey: string };
  let b: { id: string; apiKey: string };
  let campaignA: string;
  let campaignB: string;
  let mailsA: SentMail[];
  let mailsB: SentMail[];

  const operator = () => bearer(stack.adminKey);
  const get = (url: string, opts: { ua?: string; ip?: string; method?: 'GET' | 'HEAD' } = {}) =>
    stack.app.inject({
      method: opts.method ?? 'GET', url,
      headers: opts.ua === undefined ? {} : { 'user-agent': opts.ua },
      ...(opts.ip ? { remoteAddress: opts.ip } : {}),
    });
  const pathOf = (u: URL) => `${u.pathname}${u.search}`;
  const engagementRows = (sendIds: string[]) =>
    stack.pool.query<{ send_id: string; kind: string; link_index: number; prefetch: boolean; prefetch_reason: string | null; hits: number }>(
      'SELECT send_id, kind, link_index, prefetch, prefetch_reason, hits FROM engagements WHERE send_id = ANY($1) ORDER BY send_id, kind, link_index, prefetch',
      [sendIds],
    );

  /** The campaign's mails as the sink got them, matched to their send rows by Message-ID. */
  async function sentMails(campaignId: string, received: ReceivedMail[]): Promise<SentMail[]> {
    const { rows } = await stack.pool.query<{ id: string; step: number; email: string; message_id_header: string }>(
      'SELECT s.id, s.step, l.email, s.message_id_header FROM sends s JOIN leads l ON l.id = s.lead_id WHERE s.campaign_id = $1 ORDER BY l.email, s.step',
      [campaignId],
    );
    return rows.map((r) => {
      const mail = received.find((m) => m.headers['message-id'] === r.message_id_header);
      if (!mail) throw new Error(`no mail for send ${r.id}`);
      const html = partOf(mail.raw, 'text/html')!;
      const text = partOf(mail.raw, 'text/plain')!;
      const srcs = [...html.matchAll(/<img src="([^"]+)"/g)].map((m) => new URL(m[1]!.replace(/&amp;/g, '&')));
      const hrefs = [...html.matchAll(/href="([^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
      return {
        sendId: r.id, step: r.step, email: r.email, html, text, messageIdHeader: r.message_id_header,
        pixel: srcs.find((u) => u.pathname.startsWith('/t/o/')) ?? null,
        clicks: hrefs.filter((h) => h.includes('/t/c/')).map((h) => new URL(h)),
        unsubscribe: /<([^>]+)>/.exec(mail.headers['list-unsubscribe'] ?? '')![1]!.replace(/\s+/g, ''), // folding may have split it
      };
    });
  }

  const stats = async (key: string, campaignId: string) => {
    const res = await stack.app.inject({ method: 'GET', url: `/v1/campaigns/${campaignId}/stats`, headers: bearer(key) });
    expect(res.statusCode).toBe(200);
    return json<Stats>(res);
  };
  const mail = (email: string, step: number) => mailsA.find((m) => m.email === email && m.step === step)!;

  beforeAll(async () => {
    sink = await new SmtpSink().start();
    stack = await startStack({
      worker: true,
      // "Within seconds of the send" is 10 minutes here, so the test's own requests right after the sends are
      // inside it whatever the machine's load; an hour later (sent_at moved back) they are not.
      env: { TRACKING_PREFETCH_SECONDS: '600', MAILGUN_WEBHOOK_SIGNING_KEY: mailgun.signingKey, PUBLIC_BASE_URL: 'http://api.outreach.test' },
    });
    const provider = await newSmtpProvider(stack, sink.port);
    const created = async (payload: object) => {
      const res = await stack.app.inject({ method: 'POST', url: '/v1/clients', headers: operator(), payload });
      expect(res.statusCode).toBe(201);
      return json<{ id: string; apiKey: string }>(res);
    };
    a = await created({ name: 'tracking A', trackingDomain: trackingHost.toUpperCase() });
    b = await created({ name: 'tracking B' });

    const ca = await campaignWithLeads(stack, a, {
      providers: [provider.name], mailboxes: 1, leads: 4, steps: [0, 0], template: TEMPLATE, campaign: { tracking: { opens: true, clicks: true } },
    });
    const cb = await campaignWithLeads(stack, b, {
      providers: [provider.name], mailboxes: 1, leads: 1, template: TEMPLATE, campaign: { tracking: { opens: true } },
    });
    campaignA = ca.campaignId;
    campaignB = cb.campaignId;
    await ca.start();
    await cb.start();
    await ca.waitDone(120_000);
    await cb.waitDone(120_000);
    mailsA = await sentMails(campaignA, sink.received);
    mailsB = await sentMails(campaignB, sink.received);
  }, 240_000);
  afterAll(async () => {
    await stack?.close();
    await sink?.stop();
  });

  it('tracking is off unless asked for, and bad settings are 400s naming the field', async () => {
    const tpl = json<{ id: string }>(await stack.app.inject({
      method: 'POST', url: '/v1/templates', headers: bearer(a.apiKey), payload: { name: 't', ...TEMPLATE },
    }));
    const plain = await stack.app.inject({
      method: 'POST', url: '/v1/campaigns', headers: bearer(a.apiKey),
      payload: { name: 'plain', steps: [{ templateId: tpl.id, delayDays: 0 }], mailboxes: { pool: 'any' } },
    });
    expect(json(plain)).toMatchObject({ tracking: { opens: false, clicks: false } });
    const bad = await stack.app.inject({
      method: 'POST', url: '/v1/campaigns', headers: bearer(a.apiKey),
      payload: { name: 'bad', steps: [{ templateId: tpl.id, delayDays: 0 }], mailboxes: { pool: 'any' }, tracking: { opens: 'yes' } },
    });
    expect(bad.statusCode).toBe(400);
    expect(JSON.stringify(json(bad))).toContain('tracking.opens');

    const badDomain = await stack.app.inject({ method: 'POST', url: '/v1/clients', headers: operator(), payload: { name: 'x', trackingDomain: 'https://x.example/' } });
    expect(badDomain.statusCode).toBe(400);
    expect(JSON.stringify(json(badDomain))).toContain('trackingDomain');
    const patched = await stack.app.inject({ method: 'PATCH', url: `/v1/clients/${b.id}`, headers: operator(), payload: { trackingDomain: 'T.B.example:8443' } });
    expect([patched.statusCode, json(patched)]).toEqual([200, expect.objectContaining({ id: b.id, trackingDomain: 't.b.example:8443' })]);
    const cleared = await stack.app.inject({ method: 'PATCH', url: `/v1/clients/${b.id}`, headers: operator(), payload: { trackingDomain: null } });
    expect(json(cleared)).toMatchObject({ trackingDomain: null });
    expect((await stack.app.inject({ method: 'PATCH', url: `/v1/clients/${b.id}`, headers: bearer(b.apiKey), payload: { trackingDomain: 'x.example' } })).statusCode).toBe(404);
  });

  it('html bodies carry a pixel and tracked links on the client\'s tracking domain; text bodies and the unsubscribe link stay direct', () => {
    expect(mailsA).toHaveLength(8);
    for (const m of mailsA) {
      expect(m.pixel?.host).toBe(trackingHost);
      expect(m.pixel?.protocol).toBe('http:'); // PUBLIC_BASE_URL's scheme
      expect(m.clicks.map((u) => u.host)).toEqual([trackingHost, trackingHost]);
      expect(m.html).toContain('href="mailto:sales@acme.example"');
      expect(m.html).toContain(`href="${m.unsubscribe}"`);
      expect(m.html).not.toContain('https://acme.example/');
      expect(m.text).toContain('pricing: https://acme.example/pricing');
      expect(m.text).not.toContain('/t/');
    }
    // Client B tracks opens only, on PUBLIC_BASE_URL: its links are the template's own.
    expect(mailsB[0]!.pixel?.host).toBe('api.outreach.test');
    expect(mailsB[0]!.clicks).toEqual([]);
    expect(mailsB[0]!.html).toContain('href="https://acme.example/demo"');
  });

  it('the send stores the links it rewrote, by index', async () => {
    const { rows } = await stack.pool.query<{ tracked_links: string[] | null }>('SELECT tracked_links FROM sends WHERE campaign_id = $1', [campaignA]);
    expect(rows.map((r) => r.tracked_links)).toEqual(Array(8).fill(LINKS));
  });

  it('a prefetch within seconds of the send is counted apart; a real open counts once; Apple\'s proxy is a prefetch', async () => {
    const [l0, l1, l2] = [...new Set(mailsA.map((m) => m.email))].sort();
    // Right after the send: a prefetch (the pixel still answers).
    const early = await get(pathOf(mail(l0!, 0).pixel!), { ua: SAFARI });
    expect([early.statusCode, early.headers['content-type'], early.headers['cache-control']]).toEqual([200, 'image/gif', expect.stringContaining('no-store')]);
    expect(early.rawPayload.equals(PIXEL_GIF)).toBe(true);
    expect(early.rawPayload.subarray(0, 6).toString()).toBe('GIF89a');

    // An hour later (the sends' time moved back by an hour).
    await stack.pool.query(`UPDATE sends SET sent_at = sent_at - interval '1 hour' WHERE campaign_id = ANY($1)`, [[campaignA, campaignB]]);
    for (let i = 0; i < 2; i++) expect((await get(pathOf(mail(l0!, 0).pixel!), { ua: SAFARI })).statusCode).toBe(200);
    expect((await get(pathOf(mail(l2!, 0).pixel!), { ua: SAFARI, ip: '17.58.1.2' })).statusCode).toBe(200);
    expect((await get(pathOf(mail(l1!, 1).pixel!), { method: 'HEAD', ua: SAFARI })).statusCode).toBe(200);

    const rows = (await engagementRows([mail(l0!, 0).sendId, mail(l2!, 0).sendId, mail(l1!, 1).sendId])).rows;
    const of = (sendId: string) => rows.filter((r) => r.send_id === sendId).map(({ send_id: _s, ...r }) => r);
    expect(of(mail(l0!, 0).sendId)).toEqual([
      { kind: 'open', link_index: -1, prefetch: false, prefetch_reason: null, hits: 2 },
      { kind: 'open', link_index: -1, prefetch: true, prefetch_reason: 'soon_after_send', hits: 1 },
    ]);
    expect(of(mail(l2!, 0).sendId)).toEqual([{ kind: 'open', link_index: -1, prefetch: true, prefetch_reason: 'apple_proxy', hits: 1 }]);
    expect(of(mail(l1!, 1).sendId)).toEqual([{ kind: 'open', link_index: -1, prefetch: true, prefetch_reason: 'head_request', hits: 1 }]);
  });

  it('a click redirects to the link of the message under its index, and nowhere else', async () => {
    const [l0, l1, l2] = [...new Set(mailsA.map((m) => m.email))].sort();
    const first = await get(pathOf(mail(l0!, 0).clicks[0]!), { ua: SAFARI });
    expect([first.statusCode, first.headers.location, first.headers['cache-control']]).toEqual([302, LINKS[0], expect.stringContaining('no-store')]);
    const second = await get(pathOf(mail(l1!, 1).clicks[1]!), { ua: SAFARI });
    expect([second.statusCode, second.headers.location]).toEqual([302, LINKS[1]]);
    // A scanner follows every link: redirected like anyone, counted as a prefetch.
    const scanner = await get(pathOf(mail(l2!, 0).clicks[1]!), { ua: 'Mozilla/5.0 (compatible; ProofpointURLDefense)' });
    expect([scanner.statusCode, scanner.headers.location]).toEqual([302, LINKS[1]]);
    // A URL in the request changes nothing: the stored link is the target.
    const withUrl = await get(`${pathOf(mail(l0!, 0).clicks[0]!)}?url=https://evil.example/`, { ua: SAFARI });
    expect(withUrl.headers.location).toBe(LINKS[0]);

    const token = mail(l0!, 0).clicks[1]!.pathname.slice('/t/c/'.length);
    const key = trackingKey(stack.config.CREDENTIALS_KEY!);
    const claims = readTrackingToken(key, token, 'click')!;
    expect(claims).toEqual({ kind: 'click', clientId: a.id, sendId: mail(l0!, 0).sendId, linkIndex: 1 });
    const [payload, mac] = token.split('.') as [string, string];
    const otherIndex = Buffer.from(payload, 'base64url');
    otherIndex.writeUInt16BE(0, 33);
    const refused = [
      `${otherIndex.toString('base64url')}.${mac}`, // forged: another index under the same MAC
      `${payload}.${'A'.repeat(mac.length)}`, // forged MAC
      makeTrackingToken(key, { kind: 'click', clientId: a.id, sendId: mail(l0!, 0).sendId, linkIndex: 2 }), // genuine, but no link 2 (mailto is not tracked)
      makeTrackingToken(key, { kind: 'click', clientId: a.id, sendId: randomUUID(), linkIndex: 0 }), // no such send
      makeTrackingToken(key, { kind: 'click', clientId: b.id, sendId: mail(l0!, 0).sendId, linkIndex: 0 }), // A's send named with B's client
      makeTrackingToken(key, { kind: 'click', clientId: a.id, sendId: mailsB[0]!.sendId, linkIndex: 0 }), // B's send named with A's client
      mail(l0!, 0).pixel!.pathname.slice('/t/o/'.length), // an open token is not a click token
      `${token}/https://evil.example/`,
      'nonsense',
    ];
    for (const t of refused) {
      const res = await get(`/t/c/${t}`, { ua: SAFARI });
      expect([t, res.statusCode, res.headers.location]).toEqual([t, 404, undefined]);
    }

    const rows = (await engagementRows(mailsA.map((m) => m.sendId))).rows.filter((r) => r.kind === 'click');
    expect(rows.map(({ send_id, ...r }) => ({ send: send_id, ...r }))).toEqual(expect.arrayContaining([
      { send: mail(l0!, 0).sendId, kind: 'click', link_index: 0, prefetch: false, prefetch_reason: null, hits: 2 },
      { send: mail(l1!, 1).sendId, kind: 'click', link_index: 1, prefetch: false, prefetch_reason: null, hits: 1 },
      { send: mail(l2!, 0).sendId, kind: 'click', link_index: 1, prefetch: true, prefetch_reason: 'scanner_user_agent', hits: 1 },
    ]));
    expect(rows).toHaveLength(3);
  });

  it("a token from client A never records on or reads client B's data", async () => {
    const key = trackingKey(stack.config.CREDENTIALS_KEY!);
    const bSend = mailsB[0]!.sendId;
    const aSend = mailsA[0]!.sendId;
    const before = (await engagementRows([aSend, bSend])).rows;
    for (const t of [
      makeTrackingToken(key, { kind: 'open', clientId: a.id, sendId: bSend }),
      makeTrackingToken(key, { kind: 'open', clientId: b.id, sendId: aSend }),
    ]) {
      const res = await get(`/t/o/${t}`, { ua: SAFARI });
      expect(res.statusCode).toBe(404);
    }
    expect((await engagementRows([aSend, bSend])).rows).toEqual(before);
    expect((await engagementRows([bSend])).rows).toEqual([]);
    // B's own pixel records on B's send only.
    expect((await get(pathOf(mailsB[0]!.pixel!), { ua: SAFARI })).statusCode).toBe(200);
    expect((await engagementRows([bSend])).rows).toEqual([expect.objectContaining({ kind: 'open', prefetch: false, hits: 1 })]);
    // And each client's statistics are its own: A's campaign is a 404 to B.
    expect((await stack.app.inject({ method: 'GET', url: `/v1/campaigns/${campaignA}/stats`, headers: bearer(b.apiKey) })).statusCode).toBe(404);
    expect((await stack.app.inject({ method: 'GET', url: `/v1/campaigns/${campaignA}/stats`, headers: operator() })).statusCode).toBe(403);
  });

  it('stats per step match the rows after feedback, replies and an unsubscribe', async () => {
    const [l0, l1, l2, l3] = [...new Set(mailsA.map((m) => m.email))].sort() as [string, string, string, string];
    // Signed provider feedback (Mailgun, as the SMTP account's relay: our own Message-ID).
    const feedback = async (m: SentMail, event: 'delivered' | 'failed' | 'complained', permanent?: boolean) => {
      const data = mailgunEventData(event, m.messageIdHeader, m.email, { correlationId: m.sendId, ...(permanent === undefined ? {} : { permanent }) });
      const res = await stack.app.inject({ method: 'POST', url: '/webhooks/mailgun', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(mailgun.body(data)) });
      expect([res.statusCode, json(res)]).toEqual([200, expect.objectContaining({ stored: 1, mismatched: 0, unmatched: 0 })]);
    };
    await feedback(mail(l0, 0), 'delivered');
    await feedback(mail(l1, 0), 'delivered');
    await feedback(mail(l1, 1), 'complained');
    await feedback(mail(l2, 1), 'failed', false);
    await feedback(mail(l3, 1), 'failed', true);

    // Replies, in the shape the reply ingestion writes them (events with send_id).
    const reply = (m: SentMail | { sendId: string }, clientId: string, type: 'replied' | 'auto_replied') =>
      stack.pool.query(
        `INSERT INTO events (id, client_id, send_id, provider_kind, type, dedupe_key, payload, occurred_at) VALUES ($1, $2, $3, 'imap', $4, $5, '{}', now())`,
        [uuidv7(), clientId, m.sendId, type, `imap:${randomUUID()}`],
      );
    await reply(mail(l0, 0), a.id, 'replied');
    await reply(mail(l0, 0), a.id, 'replied'); // a second message in the same thread: still one replied send
    await reply(mail(l1, 0), a.id, 'auto_replied');
    await reply(mailsB[0]!, b.id, 'replied'); // another client's reply is not A's

    // l2 unsubscribes with the one-click link of its last mail (step 2).
    const unsub = await stack.app.inject({
      method: 'POST', url: new URL(mail(l2, 1).unsubscribe).pathname,
      headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'List-Unsubscribe=One-Click',
    });
    expect(unsub.statusCode).toBe(200);

    const s = await stats(a.apiKey, campaignA);
    expect(s.tracking).toEqual({ opens: true, clicks: true });
    expect(s.steps.map((x) => x.step)).toEqual([0, 1]);
    expect(s.steps[0]).toMatchObject({
      sent: 4, delivered: 2, bounced: { hard: 0, soft: 0 }, complained: 0,
      opened: 1, clicked: 1, prefetched: { opened: 1, clicked: 1 },
      replied: 1, autoReplied: 1, unsubscribed: 0,
      rates: { delivered: 0.5, opened: 0.25, clicked: 0.25, replied: 0.25, autoReplied: 0.25, hardBounced: 0, unsubscribed: 0 },
    });
    expect(s.steps[1]).toMatchObject({
      sent: 4, delivered: 1, bounced: { hard: 1, soft: 1 }, complained: 1,
      opened: 0, clicked: 1, prefetched: { opened: 1, clicked: 0 },
      replied: 0, autoReplied: 0, unsubscribed: 1,
      rates: { delivered: 0.25, hardBounced: 0.25, softBounced: 0.25, complained: 0.25, opened: 0, clicked: 0.25, unsubscribed: 0.25 },
    });
    expect(s.total).toMatchObject({ sent: 8, delivered: 3, bounced: { hard: 1, soft: 1 }, opened: 1, clicked: 2, replied: 1, autoReplied: 1, unsubscribed: 1 });

    // The same figures straight from the rows.
    const rows = await stack.pool.query<{ step: number; status: string; n: number }>(
      'SELECT step, status, count(*)::int AS n FROM sends WHERE campaign_id = $1 GROUP BY 1, 2 ORDER BY 1, 2', [campaignA],
    );
    expect(rows.rows).toEqual([
      { step: 0, status: 'delivered', n: 2 }, { step: 0, status: 'sent', n: 2 },
      { step: 1, status: 'bounced', n: 1 }, { step: 1, status: 'complained', n: 1 }, { step: 1, status: 'sent', n: 2 },
    ]);

    const sb = await stats(b.apiKey, campaignB);
    expect(sb.steps).toEqual([expect.objectContaining({ sent: 1, opened: 1, clicked: 0, replied: 1, prefetched: { opened: 0, clicked: 0 } })]);
  });

  it('the metrics count replies, opens and clicks per client', async () => {
    const res = await stack.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    const line = (name: string, labels: string) => new RegExp(`^${name}\\{${labels}\\} (\\d+)$`, 'm').exec(res.body)?.[1];
    expect(line('outreach_replies', `client="${a.id}",type="replied"`)).toBe('2');
    expect(line('outreach_replies', `client="${a.id}",type="auto_replied"`)).toBe('1');
    expect(line('outreach_opens', `client="${a.id}",source="person"`)).toBe('1');
    expect(line('outreach_opens', `client="${a.id}",source="prefetch"`)).toBe('3');
    expect(line('outreach_clicks', `client="${a.id}",source="person"`)).toBe('2');
    expect(line('outreach_clicks', `client="${a.id}",source="prefetch"`)).toBe('1');
    expect(line('outreach_opens', `client="${b.id}",source="person"`)).toBe('1');
  });
});
