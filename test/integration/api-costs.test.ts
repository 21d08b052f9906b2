/**
 * Cost per email (issue 14 point 2) through the API and the send record:
 * pricing on provider accounts (validated, changed by the operator only),
 * the cost markSent records (a monthly plan's included messages per calendar
 * month, counted exactly under concurrent sends), the cost routes' tenancy
 * and their query validation, the cost metrics. Real PostgreSQL (a database
 * of this file's own: the month's figures are these sends'), buildApp.
 */
import { randomUUID } from 'node:crypto';
import { createCampaign, transitionCampaign } from '../../db/repositories/campaigns';
import { insertLeads } from '../../db/repositories/leads';
import { claimSend, markSent } from '../../db/repositories/sends';
import { createTemplate } from '../../db/repositories/templates';
import { createTestDatabase } from '../helpers/databases';
import { bearer, json, newClient, startStack, type Stack } from '../helpers/stack';
import { testEnv } from '../helpers/test-env';

const SMTP = { host: '127.0.0.1', port: 2525 };

describe('cost per email: pricing, recorded costs, reports', () => {
  let db: { url: string; drop(): Promise<void> };
  let stack: Stack;
  let a: { id: string; apiKey: string };
  let b: { id: string; apiKey: string };

  beforeAll(async () => {
    db = await createTestDatabase(testEnv('adminDatabaseUrl'), 'outreach_costs');
    stack = await startStack({
      env: { DATABASE_URL: db.url, ACTIONS_PER_EMAIL: '4', TEMPORAL_PRICE_PER_MILLION_ACTIONS: '30', INFRA_MONTHLY_USD: '12', COST_PER_EMAIL_TARGET_USD: '0.05' },
    });
    a = await newClient(stack, 'cost A');
    b = await newClient(stack, 'cost B');
  });
  afterAll(async () => {
    await stack?.close();
    await db?.drop();
  });

  const createProvider = (payload: object, key = stack.adminKey) =>
    stack.app.inject({ method: 'POST', url: '/v1/providers', headers: bearer(key), payload: { name: `smtp-${randomUUID().slice(0, 8)}`, kind: 'smtp', config: SMTP, ...payload } });
  const patchProvider = (id: string, payload: object, key = stack.adminKey) =>
    stack.app.inject({ method: 'PATCH', url: `/v1/providers/${id}`, headers: bearer(key), payload });
  const detailPaths = (res: { body: string }) => (json<{ error: { details?: { path: string }[] } }>(res as never).error.details ?? []).map((d) => d.path);

  /** A running campaign of client A with `n` leads, and a way to record each lead's step 0 as sent through `providerId` at `at`. */
  async function sends(n: number) {
    const tag = randomUUID().slice(0, 8);
    const template = await createTemplate(stack.pool, a.id, { name: 't', subject: 'Hi', text: 'Hi.\n{{unsubscribeUrl}}' });
    const campaign = await createCampaign(stack.pool, a.id, { name: `cost-${tag}`, mailboxes: { pool: `p-${tag}` }, steps: [{ templateId: template.id, delayDays: 0 }] });
    await transitionCampaign(stack.pool, a.id, campaign.id, ['draft'], 'running');
    await insertLeads(stack.pool, a.id, campaign.id, Array.from({ length: n }, (_, i) => ({ email: `l${i}-${tag}@leads.example.org`, vars: {} })));
    const { rows } = await stack.pool.query<{ id: string }>('SELECT id FROM leads WHERE campaign_id = $1 ORDER BY id', [campaign.id]);
    const send = async (i: number, providerId: string, at: number) => {
      const claim = await claimSend(stack.pool, { clientId: a.id, campaignId: campaign.id, leadId: rows[i]!.id, step: 0, mailboxId: null as unknown as string });
      if (!claim.claimed) throw new Error('not claimed');
      await markSent(stack.pool, claim.row.id, { providerAccountId: providerId, providerMessageId: `m-${tag}-${i}`, messageIdHeader: null, sentAt: at });
      return claim.row.id;
    };
    const costOf = async (sendId: string) =>
      (await stack.pool.query<{ c: string | null }>('SELECT cost_usd::float8::text AS c FROM sends WHERE id = $1', [sendId])).rows[0]!.c;
    return { campaignId: campaign.id, send, costOf };
  }

  describe('pricing on provider accounts', () => {
    it.each([
      ['an unknown pricing kind', { pricing: { kind: 'per_day', usd: 1 } }, ['pricing.kind']],
      ['a negative price', { pricing: { kind: 'per_message', usd: -0.01 } }, ['pricing.usd']],
      ['a price as a string', { pricing: { kind: 'per_thousand', usd: '0.9' } }, ['pricing.usd']],
      ['a monthly plan without its included messages and overage', { pricing: { kind: 'monthly', usd: 10 } }, ['pricing.includedMessages', 'pricing.overagePerThousandUsd']],
      ['a fractional number of included messages', { pricing: { kind: 'monthly', usd: 10, includedMessages: 2.5, overagePerThousandUsd: 1 } }, ['pricing.includedMessages']],
      ['a field another kind has', { pricing: { kind: 'per_message', usd: 0.001, includedMessages: 5 } }, ['pricing']],
    ])('POST /v1/providers refuses %s, naming the field, and writes nothing', async (_name, payload, paths) => {
      const before = (await stack.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM provider_accounts')).rows[0]!.n;
      const res = await createProvider(payload);
      expect(res.statusCode).toBe(400);
      expect(json(res)).toMatchObject({ error: { code: 'validation_failed' } });
      for (const p of paths) expect(detailPaths(res)).toContainEqual(expect.stringMatching(new RegExp(`^${p.replace('.', '\\.')}`)));
      expect((await stack.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM provider_accounts')).rows[0]!.n).toBe(before);
    });

    it('is stored, shown (never the config) and changed by PATCH /v1/providers/:id, by the operator only', async () => {
      const created = await createProvider({ pricing: { kind: 'per_message', usd: 0.001 } });
      expect(created.statusCode).toBe(201);
      const p = json<{ id: string; pricing: unknown; config?: unknown }>(created);
      expect(p.pricing).toEqual({ kind: 'per_message', usd: 0.001 });
      expect(p.config).toBeUndefined();
      const unpriced = json<{ pricing: unknown }>(await createProvider({}));
      expect(unpriced.pricing).toBeNull();

      const monthly = { kind: 'monthly', usd: 89.95, includedMessages: 100_000, overagePerThousandUsd: 0.85 };
      const changed = await patchProvider(p.id, { pricing: monthly });
      expect(changed.statusCode).toBe(200);
      expect(json(changed)).toMatchObject({ id: p.id, pricing: monthly });
      const list = json<{ items: { id: string; pricing: unknown }[] }>(await stack.app.inject({ method: 'GET', url: '/v1/providers', headers: bearer(stack.adminKey) }));
      expect(list.items.find((i) => i.id === p.id)?.pricing).toEqual(monthly);

      // Bad input: a 400 naming the field, the stored pricing untouched.
      const bad = await patchProvider(p.id, { pricing: { kind: 'monthly', usd: 1, includedMessages: -1, overagePerThousandUsd: 1 } });
      expect(bad.statusCode).toBe(400);
      expect(detailPaths(bad)).toContain('pricing.includedMessages');
      expect((await patchProvider(p.id, {})).statusCode).toBe(400);
      // A client key: as if the route did not exist; nothing changed.
      const byClient = await patchProvider(p.id, { pricing: { kind: 'per_message', usd: 0 } }, a.apiKey);
      expect(byClient.statusCode).toBe(404);
      expect((await stack.pool.query('SELECT pricing FROM provider_accounts WHERE id = $1', [p.id])).rows[0].pricing).toEqual(monthly);
      expect((await patchProvider(randomUUID(), { pricing: null })).statusCode).toBe(404);
      // null: no longer priced.
      expect(json(await patchProvider(p.id, { pricing: null }))).toMatchObject({ pricing: null });
    });
  });

  describe('the cost a send records', () => {
    it('a monthly plan: 0 for the included messages of each calendar month (UTC), the overage after, counted exactly under concurrent sends', async () => {
      const p = json<{ id: string }>(await createProvider({ pricing: { kind: 'monthly', usd: 10, includedMessages: 3, overagePerThousandUsd: 2.5 } }));
      const s = await sends(24);
      // 10 sends at once on the last day of a January (UTC), then 4 in February: February's counter starts afresh.
      const jan = Date.UTC(2031, 0, 31, 23, 59, 0);
      const janIds = await Promise.all(Array.from({ length: 10 }, (_, i) => s.send(i, p.id, jan)));
      const febIds: string[] = [];
      for (let i = 10; i < 14; i++) febIds.push(await s.send(i, p.id, Date.UTC(2031, 1, 1, 0, 0, 1)));
      const janCosts = await Promise.all(janIds.map(s.costOf));
      expect(janCosts.filter((c) => c === '0')).toHaveLength(3);
      expect(janCosts.filter((c) => c === '0.0025')).toHaveLength(7);
      expect(await Promise.all(febIds.map(s.costOf))).toEqual(['0', '0', '0', '0.0025']);
      const usage = await stack.pool.query<{ month: string; sends: number }>(
        "SELECT to_char(month, 'YYYY-MM') AS month, sends FROM provider_month_usage WHERE provider_account_id = $1 ORDER BY month", [p.id]);
      expect(usage.rows).toEqual([{ month: '2031-01', sends: 10 }, { month: '2031-02', sends: 4 }]);

      // The client's report over January: those 10 sends, what they recorded.
      const res = await stack.app.inject({
        method: 'GET', url: `/v1/clients/${a.id}/cost?from=2031-01-01T00:00:00Z&to=2031-02-01T00:00:00Z`, headers: bearer(a.apiKey),
      });
      expect(res.statusCode).toBe(200);
      const r = json<{ provider: { sends: number; costUsd: number }; providers: { providerAccountId: string; sends: number }[] }>(res);
      expect(r.provider.sends).toBe(10);
      expect(r.provider.costUsd).toBeCloseTo(7 * 0.0025, 12);
      expect(r.providers).toMatchObject([{ providerAccountId: p.id, sends: 10 }]);
    });

    it('a changed pricing costs the sends recorded after it; earlier sends keep theirs; an unpriced account records none', async () => {
      const p = json<{ id: string }>(await createProvider({ pricing: { kind: 'per_message', usd: 0.004 } }));
      const s = await sends(3);
      const first = await s.send(0, p.id, Date.now());
      expect((await patchProvider(p.id, { pricing: { kind: 'per_thousand', usd: 1.2 } })).statusCode).toBe(200);
      const second = await s.send(1, p.id, Date.now());
      await patchProvider(p.id, { pricing: null });
      const third = await s.send(2, p.id, Date.now());
      expect([await s.costOf(first), await s.costOf(second), await s.costOf(third)]).toEqual(['0.004', '0.0012', null]);
      const r = json<{ provider: { sends: number; unpricedSends: number; costUsd: number } }>(
        await stack.app.inject({ method: 'GET', url: `/v1/campaigns/${s.campaignId}/cost`, headers: bearer(a.apiKey) }));
      expect(r.provider).toMatchObject({ sends: 3, unpricedSends: 1 });
      expect(r.provider.costUsd).toBeCloseTo(0.0052, 12);
    });
  });

  describe('the cost routes', () => {
    it("a client cannot read another client's cost: 404, and no figure of it", async () => {
      const p = json<{ id: string }>(await createProvider({ pricing: { kind: 'per_message', usd: 0.5 } }));
      const s = await sends(1);
      await s.send(0, p.id, Date.now());
      const asB = await stack.app.inject({ method: 'GET', url: `/v1/campaigns/${s.campaignId}/cost`, headers: bearer(b.apiKey) });
      expect(asB.statusCode).toBe(404);
      expect(json(asB)).toMatchObject({ error: { code: 'not_found' } });
      const clientAsB = await stack.app.inject({ method: 'GET', url: `/v1/clients/${a.id}/cost`, headers: bearer(b.apiKey) });
      expect(clientAsB.statusCode).toBe(404);
      expect(clientAsB.body).not.toContain(p.id);
      // B's own report holds none of A's sends.
      const own = json<{ clientId: string; provider: { sends: number }; providers: unknown[] }>(
        await stack.app.inject({ method: 'GET', url: `/v1/clients/${b.id}/cost`, headers: bearer(b.apiKey) }));
      expect(own).toMatchObject({ clientId: b.id, provider: { sends: 0 }, providers: [] });
      // The owner and the operator read it.
      expect((await stack.app.inject({ method: 'GET', url: `/v1/campaigns/${s.campaignId}/cost`, headers: bearer(a.apiKey) })).statusCode).toBe(200);
      const asOperator = await stack.app.inject({ method: 'GET', url: `/v1/clients/${a.id}/cost`, headers: bearer(stack.adminKey) });
      expect(asOperator.statusCode).toBe(200);
      expect(json<{ providers: { providerAccountId: string }[] }>(asOperator).providers.map((x) => x.providerAccountId)).toContain(p.id);
      expect((await stack.app.inject({ method: 'GET', url: `/v1/clients/${randomUUID()}/cost`, headers: bearer(stack.adminKey) })).statusCode).toBe(404);
    });

    it.each([
      ['a from that is not a date-time', '?from=yesterday', 'query.from'],
      ['a to without an offset', '?to=2031-01-01T00:00:00', 'query.to'],
      ['from after to', '?from=2031-02-01T00:00:00Z&to=2031-01-01T00:00:00Z', 'query.to'],
      ['an unknown filter', '?campaign=x', 'query.campaign'],
    ])('GET /v1/clients/:id/cost refuses %s, naming it', async (_name, query, path) => {
      const res = await stack.app.inject({ method: 'GET', url: `/v1/clients/${a.id}/cost${query}`, headers: bearer(a.apiKey) });
      expect(res.statusCode).toBe(400);
      expect(detailPaths(res)).toContain(path);
    });
  });
  describe('the metrics', () => {
    it('export this month\'s cost per email by component and the target, equal to the rows', async () => {
      const p = json<{ id: string }>(await createProvider({ pricing: { kind: 'per_message', usd: 0.03 } }));
      const s = await sends(4);
      for (let i = 0; i < 4; i++) await s.send(i, p.id, Date.now());
      const { rows: [month] } = await stack.pool.query<{ n: number; usd: number }>(
        `SELECT count(*)::int AS n, coalesce(sum(cost_usd), 0)::float8 AS usd FROM sends
          WHERE provider_message_id IS NOT NULL AND sent_at >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
            AND sent_at < (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC'`);
      expect(month!.n).toBeGreaterThanOrEqual(4);
      const res = await stack.app.inject({ method: 'GET', url: '/metrics', headers: bearer(stack.adminKey) });
      expect(res.statusCode).toBe(200);
      const value = (name: string, component?: string) => {
        const line = res.body.split('\n').find((l) => l.startsWith(component ? `${name}{component="${component}"} ` : `${name} `));
        return line === undefined ? undefined : Number(line.split(' ').pop());
      };
      const temporal = (4 * 30) / 1e6;
      expect(value('outreach_cost_per_email_target_usd')).toBe(0.05);
      expect(value('outreach_cost_per_email_usd', 'provider')).toBeCloseTo(month!.usd / month!.n, 12);
      expect(value('outreach_cost_per_email_usd', 'temporal')).toBeCloseTo(temporal, 12);
      expect(value('outreach_cost_per_email_usd', 'infra')).toBeCloseTo(12 / month!.n, 12);
      expect(value('outreach_cost_per_email_usd', 'total')).toBeCloseTo(month!.usd / month!.n + temporal + 12 / month!.n, 12);
      expect(value('outreach_cost_month_usd', 'provider')).toBeCloseTo(month!.usd, 12);
      expect(value('outreach_cost_month_usd', 'infra')).toBeCloseTo(12, 12);
    });
  });
});
