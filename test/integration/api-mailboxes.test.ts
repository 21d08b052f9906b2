import { randomUUID } from 'node:crypto';
import { mailboxWorkflowId } from '../../workflows/ids';
import { DEFAULT_LIMITS, DEFAULT_WARMUP_RAMP, DEFAULT_WINDOW } from '../../workflows/policy/defaults';
import { bearer, eventually, json, newClient, newSmtpProvider, startStack, type Stack } from '../helpers/stack';
import { verifyStackDomains } from '../helpers/verified-domains';

interface ImportAnswer {
  created: number;
  ids: string[];
  errors: { index: number; path: string; message: string }[];
}

describe('mailbox API on the dev server', () => {
  let stack: Stack;
  let a: { id: string; apiKey: string };
  let b: { id: string; apiKey: string };
  let providerName: string;

  beforeAll(async () => {
    stack = await startStack({ worker: true });
    a = await newClient(stack);
    b = await newClient(stack);
    providerName = (await newSmtpProvider(stack, 2525)).name;
  });
  afterAll(() => stack?.close());

  const row = (i: number, tag: string, extra: Record<string, unknown> = {}) => ({
    address: `m${i}-${tag}@d${i % 8}-${tag}.example.com`,
    pool: `pool-${i % 4}`,
    providers: [providerName],
    timezone: 'America/New_York',
    window: { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '08:00', end: '18:00' },
    limits: { dailyMax: 40, hourlyMax: 8, minIntervalSeconds: 90 },
    ...extra,
  });
  /** The importer proves control of the rows' domains first (the real path, on the stack's DNS server). */
  const verified = async <T extends { address: string }>(key: string, rows: T[]): Promise<T[]> => {
    await verifyStackDomains(stack, key, rows.map((r) => r.address).filter((a) => a.includes('@')));
    return rows;
  };

  it('imports 1,200 mailboxes in one call and starts 1,200 workflows', async () => {
    const tag = randomUUID().slice(0, 8);
    const res = await stack.app.inject({
      method: 'POST', url: '/v1/mailboxes', headers: bearer(a.apiKey),
      payload: { mailboxes: await verified(a.apiKey, Array.from({ length: 1200 }, (_, i) => row(i, tag))) },
    });
    expect(res.statusCode).toBe(201);
    const body = json<ImportAnswer>(res);
    expect(body.errors).toEqual([]);
    expect(body.created).toBe(1200);
    const running = await eventually(async () => {
      const { count } = await stack.temporal.workflow.count(
        `OutreachClient = "${a.id}" AND ExecutionStatus = "Running" AND WorkflowType = "mailboxWorkflow"`,
      );
      return count >= 1200 ? count : null;
    }, 60_000, 500);
    expect(running).toBe(1200);
    const { rows } = await stack.pool.query('SELECT count(*)::int AS n FROM mailboxes WHERE client_id = $1', [a.id]);
    expect(rows[0].n).toBe(1200);
  });

  it('a row without limits, window or warm-up gets the one set of defaults, the policy\'s and the README\'s', async () => {
    const tag = randomUUID().slice(0, 8);
    const { window: _w, limits: _l, ...bare } = row(0, tag);
    const res = await stack.app.inject({ method: 'POST', url: '/v1/mailboxes', headers: bearer(a.apiKey), payload: { mailboxes: await verified(a.apiKey, [bare]) } });
    expect(res.statusCode).toBe(201);
    const [id] = json<ImportAnswer>(res).ids;
    const m = json<{ window: unknown; limits: unknown; warmup: Record<string, unknown> }>(
      await stack.app.inject({ method: 'GET', url: `/v1/mailboxes/${id}`, headers: bearer(a.apiKey) }));
    // README "The mailbox fleet": 50/day, 10 in any 60 minutes, 72 s apart, Mon-Fri 09:00-17:00, warm-up from 5/day +3 up to 50.
    expect(m.limits).toEqual({ dailyMax: 50, hourlyMax: 10, minIntervalSeconds: 72, jitterRatio: 0.3 });
    expect(m.window).toEqual({ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' });
    expect(m.warmup).toEqual({ startPerDay: 5, increasePerDay: 3, maxPerDay: 50, startedOn: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) });
    // The workflow policy's defaults are the same set.
    expect(m.limits).toEqual(DEFAULT_LIMITS);
    expect(m.window).toEqual(DEFAULT_WINDOW);
    expect(m.warmup).toEqual({ ...DEFAULT_WARMUP_RAMP, startedOn: m.warmup.startedOn });
  });

  it('reports bad rows by index and path while the good rows import', async () => {
    const tag = randomUUID().slice(0, 8);
    const mailboxes = await verified(a.apiKey, [
      row(0, tag),
      row(1, tag, { address: 'not-an-email' }),
      row(2, tag, { timezone: 'Moon/Tranquility' }),
      row(3, tag, { window: { days: ['mon'], start: '18:00', end: '09:00' } }),
      row(4, tag, { limits: { dailyMax: -5 } }),
      row(5, tag, { providers: ['no-such-provider'] }),
      row(0, tag), // duplicate of row 0
      row(7, tag, { warmup: { startPerDay: 5, increasePerDay: 3, maxPerDay: 50 } }),
      row(8, tag, { colour: 'blue' }),
    ]);
    const before = (await stack.pool.query('SELECT count(*)::int AS n FROM mailboxes')).rows[0].n;
    const res = await stack.app.inject({ method: 'POST', url: '/v1/mailboxes', headers: bearer(a.apiKey), payload: { mailboxes } });
    expect(res.statusCode).toBe(201);
    const body = json<ImportAnswer>(res);
    expect(body.created).toBe(2);
    expect(body.errors.map((e) => [e.index, e.path])).toEqual([
      [1, 'mailboxes.1.address'],
      [2, 'mailboxes.2.timezone'],
      [3, 'mailboxes.3.window.end'],
      [4, 'mailboxes.4.limits.dailyMax'],
      [5, 'mailboxes.5.providers.0'],
      [6, 'mailboxes.6.address'],
      [8, 'mailboxes.8.colour'],
    ]);
    expect(body.errors[5]!.message).toMatch(/duplicate of mailboxes\.0/);
    const after = (await stack.pool.query('SELECT count(*)::int AS n FROM mailboxes')).rows[0].n;
    expect(after - before).toBe(2);
    // Importing the same good row again is an error for that row, not a second mailbox.
    const again = await stack.app.inject({ method: 'POST', url: '/v1/mailboxes', headers: bearer(a.apiKey), payload: { mailboxes: [row(0, tag)] } });
    expect(again.statusCode).toBe(400);
    expect(json<ImportAnswer>(again).errors).toEqual([{ index: 0, path: 'mailboxes.0.address', message: expect.stringMatching(/already exists/) }]);
  });

  it('lists by pool and status with cursor pagination, and shows live state', async () => {
    const tag = randomUUID().slice(0, 8);
    const c = await newClient(stack);
    const res = await stack.app.inject({
      method: 'POST', url: '/v1/mailboxes', headers: bearer(c.apiKey),
      payload: { mailboxes: await verified(c.apiKey, Array.from({ length: 10 }, (_, i) => row(i, tag, { warmup: { startPerDay: 5, increasePerDay: 3, maxPerDay: 50 } }))) },
    });
    expect(json<ImportAnswer>(res).created).toBe(10);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/v1/mailboxes?pool=pool-1&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = json<{ items: { id: string; pool: string }[]; nextCursor: string | null }>(
        await stack.app.inject({ method: 'GET', url, headers: bearer(c.apiKey) }),
      );
      for (const m of page.items) expect(m.pool).toBe('pool-1');
      seen.push(...page.items.map((m) => m.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(3); // rows 1, 5, 9
    expect(new Set(seen).size).toBe(3);

    type Live = { live: { warmupDay: number; dailyCap: number; sentToday: number; status: string; nextSlotAt: string | null } | null };
    // The worker may still be starting the 1,200 mailboxes of the first test: live state comes when it answers.
    const one = await eventually(async () => {
      const got = json<Live>(await stack.app.inject({ method: 'GET', url: `/v1/mailboxes/${seen[0]}`, headers: bearer(c.apiKey) }));
      return got.live ? (got as { live: NonNullable<Live['live']> }) : null;
    }, 60_000);
    expect(one.live).toMatchObject({ warmupDay: 0, dailyCap: 5, sentToday: 0, sentThisHour: 0, status: 'active', cooldownUntil: null });
    expect(one.live.nextSlotAt).not.toBeNull();
  });

  it('pauses and resumes through the API; another client can neither see nor pause the mailbox', async () => {
    const tag = randomUUID().slice(0, 8);
    const res = await stack.app.inject({ method: 'POST', url: '/v1/mailboxes', headers: bearer(a.apiKey), payload: { mailboxes: await verified(a.apiKey, [row(1, tag)]) } });
    const id = json<ImportAnswer>(res).ids[0]!;
    const address = row(1, tag).address;

    for (const url of [`/v1/mailboxes/${id}`, `/v1/mailboxes/${id}/pause`, `/v1/mailboxes/${id}/resume`]) {
      const asB = await stack.app.inject({ method: url.endsWith(id) ? 'GET' : 'POST', url, headers: bearer(b.apiKey) });
      expect(asB.statusCode).toBe(404);
    }
    const listB = json<{ items: unknown[] }>(await stack.app.inject({ method: 'GET', url: '/v1/mailboxes', headers: bearer(b.apiKey) }));
    expect(listB.items).toEqual([]);
    const handle = stack.temporal.workflow.getHandle(mailboxWorkflowId(address));
    expect((await handle.query('state')) as { status: string }).toMatchObject({ status: 'active' });

    const paused = await stack.app.inject({ method: 'POST', url: `/v1/mailboxes/${id}/pause`, headers: bearer(a.apiKey), payload: { reason: 'domain check' } });
    expect(paused.statusCode).toBe(200);
    expect(json(paused)).toMatchObject({ status: 'paused', live: { status: 'paused', pauseReason: 'domain check', nextSlotAt: null } });
    const listed = json<{ items: { id: string }[] }>(await stack.app.inject({ method: 'GET', url: '/v1/mailboxes?status=paused', headers: bearer(a.apiKey) }));
    expect(listed.items.map((m) => m.id)).toContain(id);

    const resumed = await stack.app.inject({ method: 'POST', url: `/v1/mailboxes/${id}/resume`, headers: bearer(a.apiKey) });
    expect(json(resumed)).toMatchObject({ status: 'active', live: { status: 'active' } });
  });
});
