import { makeUnsubscribeToken, unsubscribeKey } from '../../core/unsubscribe';
import { campaignWithLeads, newProvider } from '../helpers/campaign-fixture';
import { json, newClient, startStack, type Stack } from '../helpers/stack';

describe('GET/POST /u/:token (RFC 8058 one-click)', () => {
  let stack: Stack;
  let key: Buffer;
  beforeAll(async () => {
    stack = await startStack();
    key = unsubscribeKey(stack.config.CREDENTIALS_KEY!);
  });
  afterAll(() => stack?.close());

  async function clientWithLeads(leads = 2) {
    const client = await newClient(stack);
    const provider = await newProvider(stack, 'smtp', { host: '127.0.0.1', port: 2525 });
    const c = await campaignWithLeads(stack, client, { providers: [provider.name], mailboxes: 1, leads });
    const { rows } = await stack.pool.query<{ id: string; email: string }>('SELECT id, email FROM leads WHERE campaign_id = $1 ORDER BY email', [c.campaignId]);
    return { client, campaignId: c.campaignId, leads: rows };
  }
  const state = async (clientId: string) => ({
    leads: (await stack.pool.query('SELECT id, status FROM leads WHERE client_id = $1 ORDER BY id', [clientId])).rows,
    suppressions: (await stack.pool.query('SELECT email, reason FROM suppressions WHERE client_id = $1', [clientId])).rows,
  });
  const oneClick = (token: string, payload = 'List-Unsubscribe=One-Click') =>
    stack.app.inject({ method: 'POST', url: `/u/${token}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload });

  it('GET shows a confirm form and changes nothing; the one-click POST unsubscribes and suppresses', async () => {
    const a = await clientWithLeads();
    const lead = a.leads[0]!;
    const token = makeUnsubscribeToken(key, a.client.id, lead.id);
    const before = await state(a.client.id);
    const page = await stack.app.inject({ method: 'GET', url: `/u/${token}` });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toMatch(/<form method="post"/);
    expect(page.body).toContain('name="List-Unsubscribe" value="One-Click"');
    expect(page.body).not.toContain(lead.email); // the page never shows the address
    expect(await state(a.client.id)).toEqual(before);

    const res = await oneClick(token);
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('You are unsubscribed');
    const after = await state(a.client.id);
    expect(after.leads.find((l) => l.id === lead.id)!.status).toBe('unsubscribed');
    expect(after.leads.find((l) => l.id === a.leads[1]!.id)!.status).toBe('pending');
    expect(after.suppressions).toEqual([{ email: lead.email.toLowerCase(), reason: 'unsubscribed' }]);
    // Idempotent; the page now says so.
    expect((await oneClick(token)).statusCode).toBe(200);
    expect((await stack.app.inject({ method: 'GET', url: `/u/${token}` })).body).toContain('You are unsubscribed');
    const counts = json<{ counts: { unsubscribed: number } }>(await stack.app.inject({ method: 'GET', url: `/v1/campaigns/${a.campaignId}`, headers: { authorization: `Bearer ${a.client.apiKey}` } }));
    expect(counts.counts.unsubscribed).toBe(1);
  });

  it("client A's token cannot unsubscribe client B's lead; bad and tampered tokens change nothing", async () => {
    const a = await clientWithLeads(1);
    const b = await clientWithLeads(1);
    const before = { a: await state(a.client.id), b: await state(b.client.id) };
    const aToken = makeUnsubscribeToken(key, a.client.id, a.leads[0]!.id);
    const [payload, mac] = aToken.split('.');
    const swapped = Buffer.from(JSON.stringify([a.client.id, b.leads[0]!.id])).toString('base64url');
    const tokens = [
      makeUnsubscribeToken(key, a.client.id, b.leads[0]!.id), // validly signed, but the lead is not A's
      `${swapped}.${mac}`, // A's MAC on a payload naming B's lead
      makeUnsubscribeToken(Buffer.alloc(32, 1), b.client.id, b.leads[0]!.id), // signed with another key
      `${payload}.`,
      'garbage',
    ];
    for (const t of tokens) {
      const post = await oneClick(t);
      expect([t, post.statusCode]).toEqual([t, 404]);
      expect((await stack.app.inject({ method: 'GET', url: `/u/${encodeURIComponent(t)}` })).statusCode).toBe(404);
    }
    expect({ a: await state(a.client.id), b: await state(b.client.id) }).toEqual(before);
  });

  it('POST without the one-click body is a 400 and changes nothing; multipart one-click works', async () => {
    const a = await clientWithLeads(1);
    const token = makeUnsubscribeToken(key, a.client.id, a.leads[0]!.id);
    const before = await state(a.client.id);
    expect((await oneClick(token, 'List-Unsubscribe=Nope')).statusCode).toBe(400);
    expect((await stack.app.inject({ method: 'POST', url: `/u/${token}`, headers: { 'content-type': 'application/json' }, payload: '{}' })).statusCode).toBe(400);
    expect(await state(a.client.id)).toEqual(before);
    const boundary = 'xYzZY';
    const multipart = `--${boundary}\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--${boundary}--\r\n`;
    const res = await stack.app.inject({ method: 'POST', url: `/u/${token}`, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, payload: multipart });
    expect(res.statusCode).toBe(200);
    expect((await state(a.client.id)).leads[0].status).toBe('unsubscribed');
  });
});
