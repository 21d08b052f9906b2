/**
 * npm run bench:stats — GET /v1/campaigns/:id/stats and the tracking routes
 * on a campaign of BENCH_LEADS leads (default 100,000) × 2 steps, beside
 * another client's campaign of the same size (so the events and engagements
 * tables hold more than the campaign's own rows), filled by SQL in a fresh
 * database: each send delivered or bounced with its provider event, 3 %
 * replied, 2 % auto-replied, 1 % soft-bounced, 30 % opened by a person, 20 %
 * prefetched, 5 % clicked, 2 % unsubscribed. Prints the answer's time
 * (median of 5, after a warm-up), each figure query's plan (which index it
 * starts from) and time, and the latency of 2,000 pixel and click requests.
 * No Temporal and no worker: neither route touches them.
 * Needs PostgreSQL at BENCH_DATABASE_ADMIN_URL (default: the test role).
 */
import { Client } from '@temporalio/client';
import { randomBytes } from 'node:crypto';
import { buildApp } from '../../api/app';
import { loadConfig } from '../../core/config';
import { SecretBox } from '../../core/crypto';
import { makeTrackingToken, trackingKey } from '../../core/tracking/token';
import { migrate } from '../../db/migrate';
import { createPool } from '../../db/pool';
import { SQL, WENT_OUT } from '../../db/repositories/campaign-stats';
import { createClient } from '../../db/repositories/clients';
import { createTestDatabase } from '../../test/helpers/databases';
import { DEFAULT_ADMIN_DATABASE_URL } from '../../test/helpers/test-env';
import { machineLine, runBench, say } from './harness';

const LEADS = Number(process.env.BENCH_LEADS ?? 100_000);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

async function main(): Promise<void> {
  say(`bench:stats ${machineLine()}, node ${process.version}, ${LEADS} leads x 2 steps`);
  const db = await createTestDatabase(process.env.BENCH_DATABASE_ADMIN_URL ?? DEFAULT_ADMIN_DATABASE_URL, 'outreach_bench');
  const pool = createPool(db.url, 5);
  const config = loadConfig({
    NODE_ENV: 'test', LOG_LEVEL: 'silent', DATABASE_URL: db.url,
    ADMIN_API_KEY: `bench-${randomBytes(16).toString('hex')}`, CREDENTIALS_KEY: randomBytes(32).toString('base64'),
    RATE_LIMIT_PER_IP: '1000000', // every request comes from one address here
  });
  const temporal = new Client({ namespace: config.TEMPORAL_NAMESPACE }); // lazy: never connects, neither route uses it
  try {
    await migrate(pool);
    const t0 = performance.now();
    const campaigns: { clientId: string; campaignId: string; apiKey: string }[] = [];
    for (const name of ['measured', 'neighbour']) {
      const c = await createClient(pool, { name });
      const { rows } = await pool.query<{ id: string }>(
        `INSERT INTO campaigns (id, client_id, name, status, steps, mailbox_selector, track_opens, track_clicks)
         VALUES (gen_random_uuid(), $1, $2, 'completed', $3, '{"pool":"p"}', true, true) RETURNING id`,
        [c.id, name, JSON.stringify([{ templateId: '00000000-0000-7000-8000-000000000000', delayDays: 0 }, { templateId: '00000000-0000-7000-8000-000000000000', delayDays: 2 }])],
      );
      const campaignId = rows[0]!.id;
      campaigns.push({ clientId: c.id, campaignId, apiKey: c.apiKey });
      await pool.query(
        `INSERT INTO leads (id, client_id, campaign_id, email, status)
         SELECT gen_random_uuid(), $1, $2, 'l' || g || '-' || $4 || '@leads.bench.example', CASE WHEN g % 50 = 0 THEN 'unsubscribed' ELSE 'done' END
         FROM generate_series(1, $3) g`,
        [c.id, campaignId, LEADS, name],
      );
      await pool.query(
        `INSERT INTO sends (id, client_id, campaign_id, lead_id, step, status, tracked_links, sent_at)
         SELECT gen_random_uuid(), l.client_id, l.campaign_id, l.id, st,
                CASE WHEN random() < 0.02 THEN 'bounced' WHEN random() < 0.005 THEN 'complained' WHEN random() < 0.9 THEN 'delivered' ELSE 'sent' END,
                ARRAY['https://acme.example/a', 'https://acme.example/b'], now() - interval '2 hours'
         FROM leads l CROSS JOIN generate_series(0, 1) st WHERE l.campaign_id = $1`,
        [campaignId],
      );
      const events = (type: string, where: string) => pool.query(
        `INSERT INTO events (id, client_id, send_id, provider_kind, type, dedupe_key, payload, occurred_at)
         SELECT gen_random_uuid(), client_id, id, 'ses', $2, 'bench:' || $2 || ':' || id, '{}', now() FROM sends WHERE campaign_id = $1 AND ${where}`,
        [campaignId, type],
      );
      await events('delivered', `status IN ('delivered', 'complained')`);
      await events('bounced', `status = 'bounced'`);
      await events('replied', 'random() < 0.03');
      await events('auto_replied', 'random() < 0.02');
      await events('soft_bounced', 'random() < 0.01');
      const engagements = (kind: string, link: number, prefetch: boolean, share: number) => pool.query(
        `INSERT INTO engagements (send_id, client_id, campaign_id, step, kind, link_index, prefetch, prefetch_reason)
         SELECT id, client_id, campaign_id, step, $2, $3, $4, CASE WHEN $4 THEN 'apple_proxy' END FROM sends WHERE campaign_id = $1 AND random() < $5`,
        [campaignId, kind, link, prefetch, share],
      );
      await engagements('open', -1, false, 0.3);
      await engagements('open', -1, true, 0.2);
      await engagements('click', 0, false, 0.05);
      await engagements('click', 1, true, 0.05);
    }
    await pool.query('ANALYZE');
    const size = await pool.query<{ t: string; n: string }>(
      `SELECT 'sends' AS t, count(*) AS n FROM sends UNION ALL SELECT 'events', count(*) FROM events UNION ALL SELECT 'engagements', count(*) FROM engagements`,
    );
    say(`filled in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${size.rows.map((r) => `${r.n} ${r.t}`).join(', ')}`);

    const app = await buildApp({ config, pool, temporal, box: new SecretBox(config.CREDENTIALS_KEY!) });
    const { campaignId, apiKey, clientId } = campaigns[0]!;
    const stats = () => app.inject({ method: 'GET', url: `/v1/campaigns/${campaignId}/stats`, headers: { authorization: `Bearer ${apiKey}` } });
    const first = await stats();
    if (first.statusCode !== 200) throw new Error(`stats: ${first.statusCode} ${first.body}`);
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      await stats();
      times.push(performance.now() - t);
    }
    const total = (JSON.parse(first.body) as { total: Record<string, unknown> }).total;
    say(`GET /v1/campaigns/:id/stats: median ${median(times).toFixed(1)} ms (runs ${times.map((t) => t.toFixed(0)).join(', ')} ms); total ${JSON.stringify({ ...total, rates: undefined })}`);

    // Each figure query's plan: where it starts, and its own time.
    for (const [name, sql] of Object.entries(SQL)) {
      const plan = await pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, FORMAT TEXT) ${sql}`, sql.includes('$3') ? [campaignId, clientId, WENT_OUT] : [campaignId, clientId]);
      const lines = plan.rows.map((r) => r['QUERY PLAN']);
      const scans = [...new Set(lines.flatMap((l) => /(Index Only Scan|Index Scan|Bitmap Index Scan|Seq Scan) (?:using (\S+) )?on (\S+)/.exec(l)?.slice(1).filter(Boolean).join(' ') ?? []))];
      say(`  ${name}: ${lines.find((l) => l.startsWith('Execution Time'))}; ${scans.join('; ')}`);
    }

    // Tracking requests: 2,000 pixels and 2,000 clicks on random sends of the campaign.
    const key = trackingKey(config.CREDENTIALS_KEY!);
    const { rows: sends } = await pool.query<{ id: string }>('SELECT id FROM sends WHERE campaign_id = $1 ORDER BY random() LIMIT 2000', [campaignId]);
    for (const kind of ['open', 'click'] as const) {
      const lat: number[] = [];
      for (const s of sends) {
        const token = kind === 'open'
          ? makeTrackingToken(key, { kind, clientId, sendId: s.id })
          : makeTrackingToken(key, { kind, clientId, sendId: s.id, linkIndex: 0 });
        const t = performance.now();
        const res = await app.inject({ method: 'GET', url: `/t/${kind === 'open' ? 'o' : 'c'}/${token}`, headers: { 'user-agent': 'Mozilla/5.0 (Macintosh) Safari/605.1.15' } });
        lat.push(performance.now() - t);
        if (res.statusCode !== (kind === 'open' ? 200 : 302)) throw new Error(`${kind}: ${res.statusCode}`);
      }
      say(`GET /t/${kind === 'open' ? 'o' : 'c'}/<token> x ${lat.length}: p50 ${pct(lat, 0.5).toFixed(2)} ms, p99 ${pct(lat, 0.99).toFixed(2)} ms`);
    }
    await app.close();
  } finally {
    await temporal.connection.close().catch(() => undefined);
    await pool.end();
    await db.drop();
  }
}

runBench(main);
