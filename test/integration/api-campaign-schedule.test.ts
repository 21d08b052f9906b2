/**
 * POST /v1/campaigns scheduling fields: startAt, limits.newLeadsPerDay and a
 * window that must meet the window of at least one of the campaign's
 * mailboxes (each in its own zone). Every 400 names its field and writes nothing.
 */
import { randomUUID } from 'node:crypto';
import { campaignWindowConstraint, getCampaign } from '../../db/repositories/campaigns';
import type { ReserveRequest } from '../../workflows/mailbox.workflow';
import type { WindowConstraint } from '../../workflows/policy';
import { bearer, json, newClient, newSmtpProvider, startStack, type Stack } from '../helpers/stack';
import { verifyStackDomains } from '../helpers/verified-domains';

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri'];
const TABLES = ['campaigns', 'leads', 'sends', 'mailboxes', 'templates'];

interface ErrorBody {
  error: { code: string; message: string; details?: { path: string; message: string }[] };
}

describe('POST /v1/campaigns: startAt, limits and window against the mailboxes', () => {
  let stack: Stack;
  let client: { id: string; apiKey: string };
  let templateId: string;
  const tag = randomUUID().slice(0, 8);
  const office = `office-${tag}`; // Berlin and New York, Mon-Fri 09:00-17:00 local
  const weekend = `weekend-${tag}`; // UTC, Sat-Sun 10:00-12:00
  const empty = `empty-${tag}`; // no mailbox (yet)
  let weekendId: string;

  beforeAll(async () => {
    stack = await startStack();
    client = await newClient(stack);
    const provider = await newSmtpProvider(stack, 2525);
    const auth = bearer(client.apiKey);
    const mailbox = (address: string, pool: string, timezone: string, window: object) => ({
      address: `${address}-${tag}@send-${tag}.example.com`, pool, providers: [provider.name], timezone, window, warmup: null,
    });
    await verifyStackDomains(stack, client.apiKey, [`x@send-${tag}.example.com`]);
    const mb = await stack.app.inject({
      method: 'POST', url: '/v1/mailboxes', headers: auth,
      payload: {
        mailboxes: [
          mailbox('berlin', office, 'Europe/Berlin', { days: WEEKDAYS, start: '09:00', end: '17:00' }),
          mailbox('newyork', office, 'America/New_York', { days: WEEKDAYS, start: '09:00', end: '17:00' }),
          mailbox('weekend', weekend, 'UTC', { days: ['sat', 'sun'], start: '10:00', end: '12:00' }),
        ],
      },
    });
    const created = json<{ created: number; ids: string[] }>(mb);
    if (created.created !== 3) throw new Error(`mailboxes: ${mb.body}`);
    weekendId = created.ids[2]!;
    const tpl = await stack.app.inject({ method: 'POST', url: '/v1/templates', headers: auth, payload: { name: 't', subject: 's', text: 'Hi {{unsubscribeUrl}}' } });
    templateId = json<{ id: string }>(tpl).id;
  });
  afterAll(() => stack?.close());

  async function counts(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const t of TABLES) out[t] = (await stack.pool.query(`SELECT count(*)::int AS n FROM ${t}`)).rows[0].n;
    return out;
  }

  const post = (fields: Record<string, unknown>) =>
    stack.app.inject({
      method: 'POST', url: '/v1/campaigns', headers: bearer(client.apiKey),
      payload: { name: `c-${randomUUID().slice(0, 8)}`, steps: [{ templateId, delayDays: 0 }], mailboxes: { pool: office }, ...fields },
    });
  const future = () => new Date(Date.now() + 7 * 86_400_000).toISOString();

  /** A 400 in the API.md format naming exactly these paths, with nothing written. */
  async function expectRejected(fields: Record<string, unknown>, paths: string[]) {
    const before = await counts();
    const res = await post(fields);
    expect({ status: res.statusCode, body: res.body }).toMatchObject({ status: 400 });
    const body = json<ErrorBody>(res);
    expect(body.error.code).toBe('validation_failed');
    expect(typeof body.error.message).toBe('string');
    expect((body.error.details ?? []).map((d) => d.path).sort()).toEqual([...paths].sort());
    for (const d of body.error.details ?? []) expect(d.message.length).toBeGreaterThan(0);
    expect(await counts()).toEqual(before);
    return body;
  }

  it('stores startAt and limits, and the campaign view answers them (create and get)', async () => {
    const startMs = Math.floor((Date.now() + 3 * 86_400_000) / 1000) * 1000;
    const startAt = `${new Date(startMs + 2 * 3_600_000).toISOString().slice(0, 19)}+02:00`; // the same instant, written at +02:00
    const res = await post({
      startAt,
      limits: { newLeadsPerDay: 250 },
      window: { days: WEEKDAYS, start: '10:00', end: '16:00' },
      timezone: 'Europe/Berlin',
    });
    expect(res.statusCode).toBe(201);
    const created = json<Record<string, unknown>>(res);
    const wantStart = new Date(startMs).toISOString();
    expect(created).toMatchObject({ startAt: wantStart, limits: { newLeadsPerDay: 250 }, timezone: 'Europe/Berlin', window: { start: '10:00', end: '16:00' } });
    const got = await stack.app.inject({ method: 'GET', url: `/v1/campaigns/${created.id as string}`, headers: bearer(client.apiKey) });
    expect(json(got)).toMatchObject({ startAt: wantStart, limits: { newLeadsPerDay: 250 } });
    const row = (await stack.pool.query('SELECT start_at, limits FROM campaigns WHERE id = $1', [created.id])).rows[0];
    expect(row).toEqual({ start_at: new Date(wantStart), limits: { newLeadsPerDay: 250 } });
    // What the campaign workflow hands the mailbox: the stored window in the campaign's zone.
    const record = (await getCampaign(stack.pool, client.id, created.id as string))!;
    const constraint: WindowConstraint | null = campaignWindowConstraint(record);
    const forRequest: ReserveRequest['window'] = constraint ?? undefined;
    expect(forRequest).toEqual({ window: { days: WEEKDAYS, start: '10:00', end: '16:00' }, timezone: 'Europe/Berlin' });
    expect(campaignWindowConstraint({ window: record.window, timezone: null })?.timezone).toBe('UTC');
    expect(campaignWindowConstraint({ window: null, timezone: 'Europe/Berlin' })).toBeNull();
  });

  it('answers startAt and limits as null when not given', async () => {
    const res = await post({});
    expect(res.statusCode).toBe(201);
    expect(json(res)).toMatchObject({ startAt: null, limits: null, window: null, timezone: null });
  });

  it('accepts a far startAt with a negative offset and stores the same instant', async () => {
    const res = await post({ startAt: '2099-03-09T09:00:00-05:00' });
    expect(res.statusCode).toBe(201);
    expect(json(res)).toMatchObject({ startAt: '2099-03-09T14:00:00.000Z' });
  });

  it('startAt in the past is a 400 naming startAt', async () => {
    await expectRejected({ startAt: new Date(Date.now() - 60_000).toISOString() }, ['startAt']);
  });

  it('startAt that is not an ISO 8601 date-time with an offset is a 400 naming startAt', async () => {
    for (const startAt of ['2099-01-01T09:00:00', 'next tuesday', '2099-13-01T00:00:00Z', 1_900_000_000_000]) {
      await expectRejected({ startAt }, ['startAt']);
    }
  });

  it('startAt with an offset PostgreSQL refuses (-21:08, found by the conformance fuzzer; it was a 500) is stored as the same instant', async () => {
    const res = await post({ startAt: '7801-07-21T07:30:37.3-21:08' });
    expect(res.statusCode).toBe(201);
    expect(json(res)).toMatchObject({ startAt: '7801-07-22T04:38:37.300Z' });
  });

  it('limits.newLeadsPerDay must be an integer >= 1; unknown limits are named', async () => {
    for (const newLeadsPerDay of [0, -3, 1.5, '10']) await expectRejected({ limits: { newLeadsPerDay } }, ['limits.newLeadsPerDay']);
    await expectRejected({ limits: { newLeadsPerDay: 5, perHour: 2 } }, ['limits.perHour']);
  });

  it('a window that never meets any mailbox window of the pool is a 400 naming window', async () => {
    // Weekends in Berlin vs weekdays in Berlin and New York: Friday 17:00 in New York is 23:00 in Berlin.
    const body = await expectRejected({ window: { days: ['sat', 'sun'], start: '09:00', end: '17:00' }, timezone: 'Europe/Berlin' }, ['window']);
    expect(body.error.details![0]!.message).toMatch(/never overlaps/);
  });

  it('a window meeting one mailbox of the pool is enough (the other skips it at send time)', async () => {
    // 20:00-22:00 Berlin is 14:00-16:00 in New York, after the Berlin mailbox closes.
    const res = await post({ window: { days: WEEKDAYS, start: '20:00', end: '22:00' }, timezone: 'Europe/Berlin' });
    expect(res.statusCode).toBe(201);
  });

  it('a window with no timezone is read in UTC', async () => {
    // 00:00-06:00 UTC meets neither 08:00-16:00Z (Berlin) nor 13:00-22:00Z (New York) ...
    await expectRejected({ window: { days: WEEKDAYS, start: '00:00', end: '06:00' } }, ['window']);
    // ... but 00:00-06:00 in Los Angeles is 07:00/08:00-13:00/14:00Z: Berlin's afternoon.
    const res = await post({ window: { days: WEEKDAYS, start: '00:00', end: '06:00' }, timezone: 'America/Los_Angeles' });
    expect(res.statusCode).toBe(201);
  });

  it('resolves mailboxes by ids like by pool', async () => {
    await expectRejected({ mailboxes: { ids: [weekendId] }, window: { days: WEEKDAYS, start: '09:00', end: '17:00' } }, ['window']);
    const ok = await post({ mailboxes: { ids: [weekendId] }, window: { days: ['sat'], start: '11:00', end: '13:00' } });
    expect(ok.statusCode).toBe(201);
    // The weekend pool by name, too.
    await expectRejected({ mailboxes: { pool: weekend }, window: { days: ['sat', 'sun'], start: '12:00', end: '14:00' } }, ['window']);
  });

  it('a timezone without a window is fine; a window on a pool with no mailboxes yet is not checked', async () => {
    expect((await post({ timezone: 'Asia/Kolkata' })).statusCode).toBe(201);
    expect((await post({ mailboxes: { pool: empty }, window: { days: ['sun'], start: '03:00', end: '04:00' } })).statusCode).toBe(201);
  });

  it('names every schedule problem at once', async () => {
    await expectRejected(
      { startAt: '2001-01-01T00:00:00Z', window: { days: ['sat', 'sun'], start: '09:00', end: '17:00' }, timezone: 'Europe/Berlin' },
      ['startAt', 'window'],
    );
  });

  it('accepts a future startAt in UTC (Z)', async () => {
    expect((await post({ startAt: future() })).statusCode).toBe(201);
  });
});
