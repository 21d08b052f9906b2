import { SmtpSink } from '../fakes/smtp-sink';
import { campaignWithLeads, newProvider } from '../helpers/campaign-fixture';
import { bearer, eventually, json, newClient, startStack, type Stack } from '../helpers/stack';

const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const hhmm = (d: Date) => `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;

describe('campaign scheduling: startAt and the campaign window', () => {
  let stack: Stack;
  let sink: SmtpSink;
  beforeAll(async () => {
    sink = await new SmtpSink().start();
    stack = await startStack({ worker: true });
  });
  afterAll(async () => {
    await stack?.close();
    await sink?.stop();
  });

  /** A draft campaign on 2 always-open mailboxes, then the given schedule fields patched onto its row by re-creating it through the API. */
  async function scheduled(extra: Record<string, unknown>) {
    const provider = await newProvider(stack, 'smtp', { host: '127.0.0.1', port: sink.port });
    const client = await newClient(stack);
    const base = await campaignWithLeads(stack, client, { providers: [provider.name], mailboxes: 2, leads: 4 });
    const auth = bearer(client.apiKey);
    const old = json<{ steps: unknown; mailboxes: unknown }>(await stack.app.inject({ method: 'GET', url: `/v1/campaigns/${base.campaignId}`, headers: auth }));
    const res = await stack.app.inject({ method: 'POST', url: '/v1/campaigns', headers: auth, payload: { name: `s-${base.tag}`, steps: old.steps, mailboxes: old.mailboxes, ...extra } });
    expect(res.statusCode).toBe(201);
    const id = json<{ id: string }>(res).id;
    const emails = base.emails.map((e) => e.replace('@', '+s@'));
    expect(json<{ accepted: number }>(await stack.app.inject({ method: 'POST', url: `/v1/campaigns/${id}/leads`, headers: auth, payload: { leads: emails.map((email) => ({ email })) } })).accepted).toBe(4);
    const get = async () => json<{ status: string; counts: { sent: number }; progress: { nextSend: { at: string | null; reason: string } | null } | null }>(
      await stack.app.inject({ method: 'GET', url: `/v1/campaigns/${id}`, headers: auth }));
    return { id, emails, auth, get };
  }

  it('startAt: nothing goes out before it, everything after; the campaign says it waits for its start time', async () => {
    const startAt = new Date(Date.now() + 20_000);
    const c = await scheduled({ startAt: startAt.toISOString() });
    expect((await stack.app.inject({ method: 'POST', url: `/v1/campaigns/${c.id}/start`, headers: c.auth })).statusCode).toBe(202);
    const waiting = await eventually(async () => ((await c.get()).progress?.nextSend?.reason === 'start_time' ? c.get() : null), 10_000, 200);
    expect(Date.parse(waiting.progress!.nextSend!.at!)).toBe(startAt.getTime());
    expect(waiting.counts.sent).toBe(0);
    await eventually(async () => (await c.get()).status === 'completed', 60_000, 250);
    const { rows } = await stack.pool.query<{ sent_at: Date }>('SELECT sent_at FROM sends WHERE campaign_id = $1', [c.id]);
    expect(rows).toHaveLength(4);
    for (const r of rows) expect(r.sent_at.getTime()).toBeGreaterThanOrEqual(startAt.getTime());
    for (const e of c.emails) expect(sink.received.filter((m) => m.to[0] === e)).toHaveLength(1);
  }, 90_000);

  it('a campaign window that opens later: nothing goes out while it is closed, then every lead inside it', async () => {
    // Opens at the start of the minute after next (UTC; today, so the mailboxes' always-open windows intersect it).
    let opens = new Date(Math.ceil((Date.now() + 61_000) / 60_000) * 60_000);
    if (opens.getUTCHours() === 23 && opens.getUTCMinutes() >= 58) opens = new Date(Date.UTC(opens.getUTCFullYear(), opens.getUTCMonth(), opens.getUTCDate() + 1, 0, 1));
    const window = { days: [WEEKDAYS[opens.getUTCDay()]], start: hhmm(opens), end: '24:00' };
    const c = await scheduled({ window, timezone: 'UTC' });
    expect((await stack.app.inject({ method: 'POST', url: `/v1/campaigns/${c.id}/start`, headers: c.auth })).statusCode).toBe(202);
    await new Promise((r) => setTimeout(r, Math.min(10_000, opens.getTime() - Date.now() - 2000)));
    expect((await c.get()).counts.sent).toBe(0);
    expect(c.emails.filter((e) => sink.received.some((m) => m.to[0] === e))).toEqual([]);
    await eventually(async () => (await c.get()).status === 'completed', 150_000, 500);
    const { rows } = await stack.pool.query<{ slot_at: Date; sent_at: Date }>('SELECT slot_at, sent_at FROM sends WHERE campaign_id = $1', [c.id]);
    expect(rows).toHaveLength(4);
    for (const r of rows) {
      expect(r.slot_at.getTime()).toBeGreaterThanOrEqual(opens.getTime());
      expect(r.sent_at.getTime()).toBeGreaterThanOrEqual(opens.getTime());
    }
  }, 200_000);
});
