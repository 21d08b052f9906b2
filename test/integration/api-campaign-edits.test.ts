import { randomUUID } from 'node:crypto';
import { uuidv7 } from '../../core/ids';
import { campaignWithLeads, newProvider } from '../helpers/campaign-fixture';
import { bearer, json, newClient, startStack, type Stack } from '../helpers/stack';

type ErrorBody = { error: { code: string; message: string; details?: { path: string; message: string }[] } };
type CampaignPage = { items: { id: string; clientId: string; status: string; name: string }[]; nextCursor: string | null };
type SendPage = { items: { id: string; campaignId: string; status: string; mailboxId: string; clientId: string }[]; nextCursor: string | null };

/**
 * Issue 13, point 4: GET /v1/campaigns (cursor, status filter, tenancy, the
 * operator's view), PATCH and DELETE of a draft, and GET
 * /v1/mailboxes/:id/sends (newest first, filters, tenancy).
 */
describe('campaign lists and draft edits; a mailbox\'s sends', () => {
  let stack: Stack;
  let providerName: string;
  beforeAll(async () => {
    stack = await startStack();
    providerName = (await newProvider(stack, 'smtp', { host: '127.0.0.1', port: 2525 })).name;
  });
  afterAll(() => stack?.close());

  const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, key: string, payload?: object) =>
    stack.app.inject({ method, url, headers: bearer(key), ...(payload ? { payload } : {}) });

  /** A client with one draft campaign (fixture) and `more` further drafts on the same template and pool. */
  async function tenant(more = 0) {
    const client = await newClient(stack);
    const base = await campaignWithLeads(stack, client, { providers: [providerName], mailboxes: 1, leads: 2 });
    const ids = [base.campaignId];
    for (let i = 0; i < more; i++) {
      const res = await call('POST', '/v1/campaigns', client.apiKey, { name: `more-${i}`, steps: [{ templateId: base.templateId, delayDays: 0 }], mailboxes: { pool: base.pool } });
      expect(res.statusCode).toBe(201);
      ids.push(json<{ id: string }>(res).id);
    }
    return { client, key: client.apiKey, base, ids };
  }

  it('GET /v1/campaigns pages with a cursor, filters by status, and shows a client only its own', async () => {
    const a = await tenant(4);
    const b = await tenant(0);
    expect((await call('POST', `/v1/campaigns/${a.ids[1]}/cancel`, a.key)).statusCode).toBe(200);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await call('GET', `/v1/campaigns?limit=2${cursor ? `&cursor=${cursor}` : ''}`, a.key);
      expect(res.statusCode).toBe(200);
      const page: CampaignPage = json<CampaignPage>(res);
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((c) => c.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...a.ids].sort());
    expect(seen).not.toContain(b.ids[0]);

    const cancelled = json<CampaignPage>(await call('GET', '/v1/campaigns?status=cancelled', a.key));
    expect(cancelled.items.map((c) => [c.id, c.status])).toEqual([[a.ids[1], 'cancelled']]);
    const drafts = json<CampaignPage>(await call('GET', '/v1/campaigns?status=draft', a.key));
    expect(drafts.items.map((c) => c.id).sort()).toEqual(a.ids.filter((id) => id !== a.ids[1]).sort());
    expect(json<CampaignPage>(await call('GET', '/v1/campaigns?status=running', a.key)).items).toEqual([]);

    // The operator sees every client's, or one client's.
    const all = json<CampaignPage>(await call('GET', '/v1/campaigns?limit=500', stack.adminKey));
    expect(all.items.map((c) => c.id)).toEqual(expect.arrayContaining([...a.ids, ...b.ids]));
    const onlyB = json<CampaignPage>(await call('GET', `/v1/campaigns?clientId=${b.client.id}`, stack.adminKey));
    expect(onlyB.items.map((c) => [c.id, c.clientId])).toEqual([[b.ids[0], b.client.id]]);

    // A client naming another client: a 403 naming the field; bad filters: a 400 naming them.
    const other = await call('GET', `/v1/campaigns?clientId=${b.client.id}`, a.key);
    expect(other.statusCode).toBe(403);
    expect(json<ErrorBody>(other).error.details).toEqual([expect.objectContaining({ path: 'clientId' })]);
    for (const [q, path] of [['status=sleeping', 'query.status'], ['cursor=nope', 'query.cursor'], ['limit=0', 'query.limit'], ['clientId=x', 'query.clientId'], ['colour=red', '']] as const) {
      const res = await call('GET', `/v1/campaigns?${q}`, a.key);
      expect({ q, status: res.statusCode }).toEqual({ q, status: 400 });
      expect(json<ErrorBody>(res).error.code).toBe('validation_failed');
      if (path) expect(json<ErrorBody>(res).error.details?.map((d) => d.path)).toContain(path);
    }
  });

  it('PATCH edits a draft, validated like a create; nothing half written; a started campaign is a 409; another client\'s is a 404', async () => {
    const a = await tenant(0);
    const b = await tenant(0);
    const id = a.base.campaignId;
    const before = json<Record<string, unknown>>(await call('GET', `/v1/campaigns/${id}`, a.key));

    const ok = await call('PATCH', `/v1/campaigns/${id}`, a.key, {
      name: 'renamed', steps: [{ templateId: a.base.templateId, delayDays: 0 }, { templateId: a.base.templateId, delayDays: 2 }], limits: { newLeadsPerDay: 5 },
    });
    expect(ok.statusCode).toBe(200);
    expect(json(ok)).toMatchObject({ id, name: 'renamed', status: 'draft', steps: [{ delayDays: 0 }, { delayDays: 2 }], limits: { newLeadsPerDay: 5 }, mailboxes: before.mailboxes });
    const cleared = await call('PATCH', `/v1/campaigns/${id}`, a.key, { limits: null });
    expect(json(cleared)).toMatchObject({ name: 'renamed', limits: null });

    const stored = () => stack.pool.query('SELECT name, steps, limits, send_window, start_at FROM campaigns WHERE id = $1', [id]).then((r) => r.rows[0]);
    const kept = await stored();
    const bad: [object, string][] = [
      [{ steps: [{ templateId: b.base.templateId, delayDays: 0 }] }, 'steps.0.templateId'], // B's template is no template of A's
      [{ steps: [] }, 'steps'],
      [{ name: '   ' }, 'name'],
      [{ startAt: new Date(Date.now() - 3_600_000).toISOString() }, 'startAt'],
      [{ window: { days: ['mon'], start: '10:00', end: '09:00' } }, 'window'],
      [{ timezone: 'Mars/Olympus' }, 'timezone'],
      [{ colour: 'red' }, ''],
      [{}, ''],
    ];
    for (const [payload, path] of bad) {
      const res = await call('PATCH', `/v1/campaigns/${id}`, a.key, payload);
      expect({ payload, status: res.statusCode }).toEqual({ payload, status: 400 });
      if (path) expect({ payload, paths: json<ErrorBody>(res).error.details?.map((d) => d.path) }).toEqual({ payload, paths: expect.arrayContaining([expect.stringMatching(new RegExp(`^${path.replace(/\./g, '\\.')}`))]) });
    }
    expect(await stored()).toEqual(kept);

    // Tenancy: B cannot edit A's draft (404, unchanged); an unknown id is a 404 too.
    expect((await call('PATCH', `/v1/campaigns/${id}`, b.key, { name: 'stolen' })).statusCode).toBe(404);
    expect((await call('PATCH', `/v1/campaigns/${randomUUID()}`, a.key, { name: 'x' })).statusCode).toBe(404);
    expect(await stored()).toEqual(kept);

    // Once it has left draft: a 409.
    expect((await call('POST', `/v1/campaigns/${id}/cancel`, a.key)).statusCode).toBe(200);
    const late = await call('PATCH', `/v1/campaigns/${id}`, a.key, { name: 'too late' });
    expect(late.statusCode).toBe(409);
    expect(json<ErrorBody>(late).error).toMatchObject({ code: 'conflict', details: [{ path: 'status', message: 'cancelled' }] });
    expect((await stored()).name).toBe('renamed');
  });

  it('DELETE removes a draft with its leads; a started campaign is a 409; another client\'s is a 404', async () => {
    const a = await tenant(1);
    const b = await tenant(0);
    const [draft, other] = a.ids as [string, string];
    const leads = async (id: string) => (await stack.pool.query('SELECT count(*)::int AS n FROM leads WHERE campaign_id = $1', [id])).rows[0].n as number;
    expect(await leads(draft)).toBe(2);

    expect((await call('DELETE', `/v1/campaigns/${draft}`, b.key)).statusCode).toBe(404);
    expect(await leads(draft)).toBe(2);

    const del = await call('DELETE', `/v1/campaigns/${draft}`, a.key);
    expect([del.statusCode, json(del)]).toEqual([200, { id: draft, deleted: true }]);
    expect(await leads(draft)).toBe(0);
    expect((await call('GET', `/v1/campaigns/${draft}`, a.key)).statusCode).toBe(404);
    expect((await call('DELETE', `/v1/campaigns/${draft}`, a.key)).statusCode).toBe(404);
    expect((await call('DELETE', '/v1/campaigns/not-a-uuid', a.key)).statusCode).toBe(400);

    expect((await call('POST', `/v1/campaigns/${other}/cancel`, a.key)).statusCode).toBe(200);
    const refused = await call('DELETE', `/v1/campaigns/${other}`, a.key);
    expect(refused.statusCode).toBe(409);
    expect(json<ErrorBody>(refused).error.code).toBe('conflict');
    expect((await call('GET', `/v1/campaigns/${other}`, a.key)).statusCode).toBe(200);
  });

  it("GET /v1/mailboxes/:id/sends: newest first with a cursor, filtered by status and campaign; another client's mailbox is a 404", async () => {
    const a = await tenant(1);
    const b = await tenant(0);
    const mailbox = a.base.mailboxIds[0]!;
    // Sends rows as the send step writes them (uuidv7 ids, one millisecond apart, in time order): one row per (lead, step).
    const { rows: leadRows } = await stack.pool.query<{ id: string }>('SELECT id FROM leads WHERE campaign_id = $1 ORDER BY id', [a.base.campaignId]);
    const made: { id: string; campaign: string; status: string }[] = [];
    const t0 = Date.now();
    for (const [i, status] of ['sent', 'failed', 'sent', 'bounced', 'sent'].entries()) {
      const id = uuidv7(t0 + i);
      await stack.pool.query(
        'INSERT INTO sends (id, client_id, campaign_id, lead_id, step, mailbox_id, status) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [id, a.client.id, a.base.campaignId, leadRows[i % 2]!.id, Math.floor(i / 2), mailbox, status],
      );
      made.push({ id, campaign: a.base.campaignId, status });
    }
    const newestFirst = [...made].reverse().map((s) => s.id);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: SendPage = json<SendPage>(await call('GET', `/v1/mailboxes/${mailbox}/sends?limit=2${cursor ? `&cursor=${cursor}` : ''}`, a.key));
      seen.push(...page.items.map((s) => s.id));
      for (const s of page.items) expect(s).toMatchObject({ mailboxId: mailbox, clientId: a.client.id, campaignId: a.base.campaignId });
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(newestFirst);

    const sent = json<SendPage>(await call('GET', `/v1/mailboxes/${mailbox}/sends?status=sent`, a.key));
    expect(sent.items.map((s) => s.id)).toEqual(made.filter((s) => s.status === 'sent').reverse().map((s) => s.id));
    expect(json<SendPage>(await call('GET', `/v1/mailboxes/${mailbox}/sends?campaignId=${a.ids[1]}`, a.key)).items).toEqual([]);
    expect(json<SendPage>(await call('GET', `/v1/mailboxes/${mailbox}/sends?campaignId=${a.base.campaignId}&status=bounced`, a.key)).items.map((s) => s.id))
      .toEqual([made[3]!.id]);

    // Tenancy: B's key on A's mailbox is a 404 that names none of it; the operator sees it.
    const stolen = await call('GET', `/v1/mailboxes/${mailbox}/sends`, b.key);
    expect(stolen.statusCode).toBe(404);
    expect(stolen.body).not.toContain(made[0]!.id);
    expect(json<SendPage>(await call('GET', `/v1/mailboxes/${b.base.mailboxIds[0]}/sends`, b.key)).items).toEqual([]);
    expect(json<SendPage>(await call('GET', `/v1/mailboxes/${mailbox}/sends`, stack.adminKey)).items.map((s) => s.id)).toEqual(newestFirst);
    expect((await call('GET', `/v1/mailboxes/${randomUUID()}/sends`, stack.adminKey)).statusCode).toBe(404);

    for (const [q, path] of [['status=lost', 'query.status'], ['campaignId=x', 'query.campaignId'], ['cursor=x', 'query.cursor'], ['limit=501', 'query.limit']] as const) {
      const res = await call('GET', `/v1/mailboxes/${mailbox}/sends?${q}`, a.key);
      expect({ q, status: res.statusCode }).toEqual({ q, status: 400 });
      expect(json<ErrorBody>(res).error.details?.map((d) => d.path)).toContain(path);
    }
  });
});
