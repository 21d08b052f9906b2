/**
 * Cost per email (issue 14 point 2) end to end: real campaigns on the dev
 * server and a worker, the real SDK clients against the provider fakes, a
 * database of this file's own (so the month's infrastructure figure is spread
 * over these sends alone). Each send records its cost at the account that
 * sent it; the reports equal the sum of the rows, for each pricing kind and
 * after a failover between differently priced accounts.
 */
import type { Pricing } from '../../core/schemas/pricing';
import { MailgunFake } from '../fakes/mailgun-fake';
import { SendgridFake } from '../fakes/sendgrid-fake';
import { SesFake } from '../fakes/ses-fake';
import { createTestDatabase } from '../helpers/databases';
import { campaignWithLeads } from '../helpers/campaign-fixture';
import { bearer, json, newClient, startStack, type Stack } from '../helpers/stack';
import { testEnv } from '../helpers/test-env';
import { randomUUID } from 'node:crypto';

const ENV = { ACTIONS_PER_EMAIL: '6', TEMPORAL_PRICE_PER_MILLION_ACTIONS: '25', INFRA_MONTHLY_USD: '30', COST_PER_EMAIL_TARGET_USD: '0.08' };

interface Report {
  clientId: string;
  campaignId?: string;
  providers: { providerAccountId: string; name: string; kind: string; sends: number; unpricedSends: number; costUsd: number; costPerEmailUsd: number | null }[];
  provider: { sends: number; unpricedSends: number; costUsd: number; costPerEmailUsd: number | null };
  engine: { temporalUsd: number; infraUsd: number; costUsd: number; costPerEmailUsd: number | null };
  total: { sends: number; costUsd: number; costPerEmailUsd: number | null };
  targetPerEmailUsd: number;
  withinTarget: boolean | null;
}

describe('cost per email: each send records its cost, the reports add the rows up (dev server, fakes, PostgreSQL)', () => {
  let db: { url: string; drop(): Promise<void> };
  let stack: Stack;
  const ses = new SesFake();
  const sendgrid = new SendgridFake();
  const mailgun = new MailgunFake();
  const urls = { ses: '', sendgrid: '', mailgun: '' };

  beforeAll(async () => {
    urls.ses = await ses.start();
    urls.sendgrid = await sendgrid.start();
    urls.mailgun = await mailgun.start();
    db = await createTestDatabase(testEnv('adminDatabaseUrl'), 'outreach_cost');
    stack = await startStack({ worker: true, env: { DATABASE_URL: db.url, PROVIDER_BREAKER_OPEN_SECONDS: '2', ...ENV } });
  });
  afterAll(async () => {
    await stack?.close();
    await db?.drop();
    await ses.stop();
    await sendgrid.stop();
    await mailgun.stop();
  });

  async function priced(kind: 'ses' | 'sendgrid' | 'mailgun', pricing: Pricing) {
    const config = {
      ses: { region: 'eu-west-1', accessKeyId: 'AKID', secretAccessKey: 'secret', endpoint: urls.ses },
      sendgrid: { apiKey: 'SG.key', endpoint: urls.sendgrid },
      mailgun: { apiKey: 'key-test', domain: 'mg.example.com', endpoint: urls.mailgun },
    }[kind];
    const res = await stack.app.inject({
      method: 'POST', url: '/v1/providers', headers: bearer(stack.adminKey),
      payload: { name: `${kind}-${randomUUID().slice(0, 8)}`, kind, config, pricing },
    });
    expect(res.statusCode).toBe(201);
    const view = json<{ id: string; name: string; pricing: Pricing }>(res);
    expect(view.pricing).toEqual(pricing);
    return view;
  }

  const costs = async (campaignId: string) =>
    (await stack.pool.query<{ account: string; cost: string | null }>(
      "SELECT provider_account_id AS account, cost_usd::text AS cost FROM sends WHERE campaign_id = $1 AND status = 'sent' ORDER BY cost_usd, id",
      [campaignId],
    )).rows;
  /** The rows' costs summed by PostgreSQL, exactly, then as a float: what the report must show. */
  const rowSum = async (where: string, params: unknown[]) =>
    (await stack.pool.query<{ usd: number; n: number }>(
      `SELECT coalesce(sum(cost_usd), 0)::float8 AS usd, count(*)::int AS n FROM sends WHERE provider_message_id IS NOT NULL AND ${where}`, params,
    )).rows[0]!;
  const monthSends = async () => (await rowSum("sent_at >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'", [])).n;

  const campaignReport = async (client: { apiKey: string }, campaignId: string) => {
    const res = await stack.app.inject({ method: 'GET', url: `/v1/campaigns/${campaignId}/cost`, headers: bearer(client.apiKey) });
    expect(res.statusCode).toBe(200);
    return json<Report>(res);
  };

  it('per message, per thousand and a monthly plan: each send costs its price, and each campaign report is the sum of its rows', async () => {
    const perMessage = await priced('mailgun', { kind: 'per_message', usd: 0.0008 });
    const perThousand = await priced('sendgrid', { kind: 'per_thousand', usd: 0.9 });
    const monthly = await priced('ses', { kind: 'monthly', usd: 19.95, includedMessages: 5, overagePerThousandUsd: 2 });
    const client = await newClient(stack);
    const leads = { [perMessage.name]: 7, [perThousand.name]: 6, [monthly.name]: 9 };
    const campaigns = await Promise.all([perMessage, perThousand, monthly].map((p) =>
      campaignWithLeads(stack, client, { providers: [p.name], mailboxes: 1, leads: leads[p.name]! })));
    for (const c of campaigns) await c.start();
    for (const c of campaigns) await c.waitDone(90_000);

    // Each send's own cost, at the account that sent it.
    const [m, t, s] = await Promise.all(campaigns.map((c) => costs(c.campaignId)));
    expect(m).toEqual(Array.from({ length: 7 }, () => ({ account: perMessage.id, cost: '0.0008' })));
    expect(t!.map((r) => [r.account, Number(r.cost)])).toEqual(Array.from({ length: 6 }, () => [perThousand.id, 0.0009]));
    // The plan's first 5 of the month are included (marginal cost 0), the other 4 at the overage.
    expect(s!.map((r) => [r.account, Number(r.cost)])).toEqual([
      ...Array.from({ length: 5 }, () => [monthly.id, 0]), ...Array.from({ length: 4 }, () => [monthly.id, 0.002]),
    ]);

    const allInMonth = await monthSends();
    for (const [c, account, expected] of [
      [campaigns[0]!, perMessage, 7 * 0.0008], [campaigns[1]!, perThousand, 6 * 0.0009], [campaigns[2]!, monthly, 4 * 0.002],
    ] as const) {
      const r = await campaignReport(client, c.campaignId);
      const rows = await rowSum('campaign_id = $1', [c.campaignId]);
      expect(r.campaignId).toBe(c.campaignId);
      expect(r.provider).toEqual({ sends: rows.n, unpricedSends: 0, costUsd: rows.usd, costPerEmailUsd: rows.usd / rows.n });
      expect(r.provider.costUsd).toBeCloseTo(expected, 12);
      expect(r.providers).toEqual([{
        providerAccountId: account.id, name: account.name, kind: expect.any(String), sends: rows.n, unpricedSends: 0,
        costUsd: rows.usd, costPerEmailUsd: rows.usd / rows.n,
      }]);
      // The engine's share: 6 actions an email at $25 a million; $30 of infrastructure over every send of the month.
      expect(r.engine.temporalUsd).toBeCloseTo((rows.n * 6 * 25) / 1e6, 12);
      expect(r.engine.infraUsd).toBeCloseTo((30 * rows.n) / allInMonth, 12);
      expect(r.total.costUsd).toBeCloseTo(rows.usd + r.engine.temporalUsd + r.engine.infraUsd, 12);
      expect(r.total.costPerEmailUsd).toBeCloseTo(r.total.costUsd / rows.n, 12);
      expect(r.targetPerEmailUsd).toBe(0.08);
      expect(r.withinTarget).toBe(r.total.costPerEmailUsd! <= 0.08);
    }

    // The client's report over this month: every campaign's sends, per account, the same sums.
    const res = await stack.app.inject({ method: 'GET', url: `/v1/clients/${client.id}/cost`, headers: bearer(client.apiKey) });
    expect(res.statusCode).toBe(200);
    const whole = json<Report>(res);
    const rows = await rowSum('client_id = $1', [client.id]);
    expect(whole.provider).toMatchObject({ sends: 22, costUsd: rows.usd });
    expect(whole.providers.map((p) => [p.providerAccountId, p.sends]).sort()).toEqual(
      [[perMessage.id, 7], [perThousand.id, 6], [monthly.id, 9]].sort(),
    );
    expect(whole.engine.infraUsd).toBeCloseTo((30 * 22) / allInMonth, 12);
    // A period before any of it: nothing.
    const before = await stack.app.inject({
      method: 'GET', url: `/v1/clients/${client.id}/cost?from=2020-01-01T00:00:00Z&to=2020-02-01T00:00:00Z`, headers: bearer(stack.adminKey),
    });
    expect(json<Report>(before)).toMatchObject({ providers: [], provider: { sends: 0, costUsd: 0, costPerEmailUsd: null }, withinTarget: null });
  }, 150_000);

  it('after a failover between differently priced accounts each send costs what its sending account charges, and the report still adds up', async () => {
    const sesAcct = await priced('ses', { kind: 'per_thousand', usd: 0.1 });
    const sgAcct = await priced('sendgrid', { kind: 'monthly', usd: 19.95, includedMessages: 2, overagePerThousandUsd: 1.5 });
    const client = await newClient(stack);
    const c = await campaignWithLeads(stack, client, { providers: [sesAcct.name, sgAcct.name], mailboxes: 2, leads: 40 });
    const sgBefore = sendgrid.accepted;
    ses.fail(503, 10); // SES's first ten answers: each of those sends moves to SendGrid within its attempt
    await c.start();
    await c.waitDone(90_000);

    const rows = await costs(c.campaignId);
    expect(rows).toHaveLength(40);
    const viaSes = rows.filter((r) => r.account === sesAcct.id);
    const viaSg = rows.filter((r) => r.account === sgAcct.id);
    expect(viaSg.length).toBe(sendgrid.accepted - sgBefore); // the rows name the account the fakes saw send
    expect(viaSg.length).toBeGreaterThan(2); // past the plan's included messages
    expect(viaSes.length).toBeGreaterThan(0);
    expect(viaSes.length + viaSg.length).toBe(40);
    expect(viaSes.map((r) => Number(r.cost))).toEqual(viaSes.map(() => 0.0001));
    expect(viaSg.map((r) => Number(r.cost))).toEqual([0, 0, ...viaSg.slice(2).map(() => 0.0015)]);

    const r = await campaignReport(client, c.campaignId);
    const byAccount = new Map(r.providers.map((p) => [p.providerAccountId, p]));
    const sesSum = await rowSum('campaign_id = $1 AND provider_account_id = $2', [c.campaignId, sesAcct.id]);
    const sgSum = await rowSum('campaign_id = $1 AND provider_account_id = $2', [c.campaignId, sgAcct.id]);
    expect(byAccount.get(sesAcct.id)).toMatchObject({ sends: viaSes.length, costUsd: sesSum.usd });
    expect(byAccount.get(sgAcct.id)).toMatchObject({ sends: viaSg.length, costUsd: sgSum.usd });
    expect(sesSum.usd).toBeCloseTo(viaSes.length * 0.0001, 12);
    expect(sgSum.usd).toBeCloseTo((viaSg.length - 2) * 0.0015, 12);
    expect(r.provider.sends).toBe(40);
    expect(r.provider.costUsd).toBe((await rowSum('campaign_id = $1', [c.campaignId])).usd);
  }, 150_000);
});
