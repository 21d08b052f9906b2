import { randomUUID } from 'node:crypto';
import { endRest, restMailbox } from '../../activities/reputation.activity';
import { mailboxWorkflowId } from '../../workflows/ids';
import { reportOutcomeSignal, reserveSlotUpdate } from '../../workflows/messages/mailbox';
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

  /** Every hour of every day, fully warmed up, no spacing: what the counters say is all that limits it. */
  const openRow = (i: number, tag: string, extra: Record<string, unknown> = {}) =>
    row(i, tag, { window: { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '00:00', end: '24:00' }, warmup: null, timezone: 'UTC', limits: { dailyMax: 5, hourlyMax: 50, minIntervalSeconds: 0 }, ...extra });
  const importOne = async (key: string, r: ReturnType<typeof row>) => {
    const res = await stack.app.inject({ method: 'POST', url: '/v1/mailboxes', headers: bearer(key), payload: { mailboxes: await verified(key, [r]) } });
    expect(res.statusCode).toBe(201);
    return json<ImportAnswer>(res).ids[0]!;
  };
  /** A send through the mailbox's own workflow, as a campaign lane makes one (a slot now, reported sent). */
  const sendThrough = async (address: string, id: string) => {
    const handle = stack.temporal.workflow.getHandle(mailboxWorkflowId(address));
    const a = await handle.executeUpdate(reserveSlotUpdate, { args: [{ requestId: id, campaignId: 'patch-test', horizonMs: 0 }] });
    if (a.granted) await handle.signal(reportOutcomeSignal, { requestId: id, outcome: 'sent' });
    return a;
  };

  it('PATCH changes a running mailbox without losing its counters: 3 sent of 5 a day, lowered to 4, and exactly 1 more goes out today', async () => {
    const tag = randomUUID().slice(0, 8);
    const r = openRow(2, tag);
    const id = await importOne(a.apiKey, r);
    for (const n of [1, 2, 3]) expect((await sendThrough(r.address, `s${n}`)).granted).toBe(true);

    const patched = await stack.app.inject({ method: 'PATCH', url: `/v1/mailboxes/${id}`, headers: bearer(a.apiKey), payload: { limits: { dailyMax: 4 }, displayName: 'Ann from Sales', pool: 'renamed' } });
    expect(patched.statusCode).toBe(200);
    const body = json<{ limits: Record<string, number>; displayName: string; pool: string; live: { dailyCap: number; sentToday: number } }>(patched);
    // Limits merge field by field: the others stay as imported.
    expect(body.limits).toEqual({ dailyMax: 4, hourlyMax: 50, minIntervalSeconds: 0, jitterRatio: 0.3 });
    expect(body).toMatchObject({ displayName: 'Ann from Sales', pool: 'renamed', live: { dailyCap: 4, sentToday: 3 } });
    const stored = await stack.pool.query('SELECT limits, display_name, pool FROM mailboxes WHERE id = $1', [id]);
    expect(stored.rows[0]).toMatchObject({ limits: { dailyMax: 4, hourlyMax: 50 }, display_name: 'Ann from Sales', pool: 'renamed' });

    expect((await sendThrough(r.address, 's4')).granted).toBe(true);
    expect(await sendThrough(r.address, 's5')).toMatchObject({ granted: false, reason: 'beyond_horizon', blockedBy: 'daily_cap' });
    const got = json<{ live: { dailyCap: number; sentToday: number } }>(await stack.app.inject({ method: 'GET', url: `/v1/mailboxes/${id}`, headers: bearer(a.apiKey) }));
    expect(got.live).toMatchObject({ dailyCap: 4, sentToday: 4 });
  });

  it('PATCH refuses bad settings naming the field, and changes nothing; another client\'s mailbox is a 404', async () => {
    const tag = randomUUID().slice(0, 8);
    const r = openRow(3, tag);
    const id = await importOne(a.apiKey, r);
    const before = (await stack.pool.query('SELECT limits, send_window, provider_ids, timezone FROM mailboxes WHERE id = $1', [id])).rows[0];
    const cases: [Record<string, unknown>, string][] = [
      [{ window: { days: ['mon'], start: '17:00', end: '09:00' } }, 'window.end'],
      [{ limits: { dailyMax: 0 } }, 'limits.dailyMax'],
      [{ timezone: 'Mars/Olympus' }, 'timezone'],
      [{ providers: ['no-such-provider'] }, 'providers.0'],
      [{ warmup: { startPerDay: 10, increasePerDay: 1, maxPerDay: 5 } }, 'warmup.maxPerDay'],
      [{ status: 'active' }, 'status'],
    ];
    for (const [payload, field] of cases) {
      const res = await stack.app.inject({ method: 'PATCH', url: `/v1/mailboxes/${id}`, headers: bearer(a.apiKey), payload });
      expect({ field, status: res.statusCode }).toEqual({ field, status: 400 });
      expect(json<{ error: { details: { path: string }[] } }>(res).error.details.map((d) => d.path)).toContain(field);
    }
    expect((await stack.pool.query('SELECT limits, send_window, provider_ids, timezone FROM mailboxes WHERE id = $1', [id])).rows[0]).toEqual(before);
    const live = json<{ live: { dailyCap: number } }>(await stack.app.inject({ method: 'GET', url: `/v1/mailboxes/${id}`, headers: bearer(a.apiKey) }));
    expect(live.live.dailyCap).toBe(5);

    const asB = await stack.app.inject({ method: 'PATCH', url: `/v1/mailboxes/${id}`, headers: bearer(b.apiKey), payload: { limits: { dailyMax: 1 } } });
    expect(asB.statusCode).toBe(404);
    expect((await stack.pool.query('SELECT limits FROM mailboxes WHERE id = $1', [id])).rows[0].limits.dailyMax).toBe(5);
  });

  it('the operator lists, reads, pauses, resumes and patches agency mailboxes; a client key on them is a 404', async () => {
    const tag = randomUUID().slice(0, 8);
    const r = openRow(4, `agency-${tag}`);
    const id = await importOne(stack.adminKey, r);
    const op = bearer(stack.adminKey);
    const listed = json<{ items: { id: string }[] }>(await stack.app.inject({ method: 'GET', url: '/v1/mailboxes?limit=200', headers: op }));
    expect(listed.items.map((m) => m.id)).toContain(id);
    expect((await stack.app.inject({ method: 'GET', url: `/v1/mailboxes/${id}`, headers: op })).statusCode).toBe(200);
    const paused = await stack.app.inject({ method: 'POST', url: `/v1/mailboxes/${id}/pause`, headers: op, payload: { reason: 'agency maintenance' } });
    expect(json(paused)).toMatchObject({ status: 'paused', pauses: [{ kind: 'user', reason: 'agency maintenance' }] });
    const resumed = await stack.app.inject({ method: 'POST', url: `/v1/mailboxes/${id}/resume`, headers: op });
    expect(json(resumed)).toMatchObject({ status: 'active', pauses: [] });
    const patched = await stack.app.inject({ method: 'PATCH', url: `/v1/mailboxes/${id}`, headers: op, payload: { limits: { hourlyMax: 7 } } });
    expect(json(patched)).toMatchObject({ limits: { hourlyMax: 7 } });

    for (const [method, url] of [['GET', `/v1/mailboxes/${id}`], ['POST', `/v1/mailboxes/${id}/pause`], ['POST', `/v1/mailboxes/${id}/resume`], ['PATCH', `/v1/mailboxes/${id}`]] as const) {
      const res = await stack.app.inject({ method, url, headers: bearer(a.apiKey), ...(method === 'PATCH' ? { payload: { limits: { hourlyMax: 1 } } } : {}) });
      expect({ method, url, status: res.statusCode }).toEqual({ method, url, status: 404 });
    }
    const clientList = json<{ items: { id: string }[] }>(await stack.app.inject({ method: 'GET', url: '/v1/mailboxes?limit=200', headers: bearer(a.apiKey) }));
    expect(clientList.items.map((m) => m.id)).not.toContain(id);
    expect((await stack.pool.query('SELECT limits FROM mailboxes WHERE id = $1', [id])).rows[0].limits.hourlyMax).toBe(7);
  });

  it('a DNS rest survives its owner\'s resume and is reported; a rest ending leaves a hand pause in place', async () => {
    const tag = randomUUID().slice(0, 8);
    const r = openRow(5, tag);
    const id = await importOne(a.apiKey, r);
    const deps = { pool: stack.pool, client: stack.temporal, logger: { warn: () => undefined } };
    expect(await restMailbox(deps, id, 'dns', 'its sending domain failed its DNS check', null)).toBe(true);
    const get = async () => json<{ status: string; pauses: { kind: string }[]; live: { status: string; pauses: { kind: string; reason: string; since: string; until: string | null }[] } }>(
      await stack.app.inject({ method: 'GET', url: `/v1/mailboxes/${id}`, headers: bearer(a.apiKey) }));
    const resting = await get();
    expect(resting.live.pauses).toEqual([{ kind: 'dns', reason: 'its sending domain failed its DNS check', since: expect.any(String), until: null }]);

    // The owner's resume takes away only its own reason: the DNS rest stays, and the answer says so.
    const resumed = await stack.app.inject({ method: 'POST', url: `/v1/mailboxes/${id}/resume`, headers: bearer(a.apiKey) });
    expect(resumed.statusCode).toBe(200);
    expect(json(resumed)).toMatchObject({ status: 'paused', live: { status: 'paused', pauses: [{ kind: 'dns' }] } });
    expect(await sendThrough(r.address, 'dns-1')).toMatchObject({ granted: false, reason: 'paused' });
    // A client may not take a rest away, nor a domain's reason.
    for (const kind of ['rest', 'dns']) {
      const res = await stack.app.inject({ method: 'POST', url: `/v1/mailboxes/${id}/resume`, headers: bearer(a.apiKey), payload: { kind } });
      expect({ kind, status: res.statusCode }).toEqual({ kind, status: kind === 'dns' ? 400 : 403 });
    }
    // Postgres mirrors the set (the workflow writes it).
    await eventually(async () => {
      const row = (await stack.pool.query('SELECT status, pause_reasons FROM mailboxes WHERE id = $1', [id])).rows[0];
      return row.status === 'paused' && row.pause_reasons.length === 1 && row.pause_reasons[0].kind === 'dns' ? row : null;
    });

    // Hand-paused while resting; the domain passes again and its rest ends: the hand pause stays.
    await stack.app.inject({ method: 'POST', url: `/v1/mailboxes/${id}/pause`, headers: bearer(a.apiKey), payload: { reason: 'holiday' } });
    expect(await endRest(deps, id, 'dns')).toBe(true);
    const after = await get();
    expect(after.live.pauses.map((p) => [p.kind, p.reason])).toEqual([['user', 'holiday']]);
    expect(after.status).toBe('paused');
    // The owner resumes: it sends again.
    const back = await stack.app.inject({ method: 'POST', url: `/v1/mailboxes/${id}/resume`, headers: bearer(a.apiKey) });
    expect(json(back)).toMatchObject({ status: 'active', pauses: [] });
    expect((await sendThrough(r.address, 'dns-2')).granted).toBe(true);
  });
});
