import { randomBytes, randomUUID } from 'node:crypto';
import { SmtpSink } from '../fakes/smtp-sink';
import { campaignWithLeads, newProvider } from '../helpers/campaign-fixture';
import { bearer, newClient, newSmtpProvider, startStack, type Stack } from '../helpers/stack';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The Prometheus text format, enough of it for these metrics (no escaped quotes in our label values). */
function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** name → "label=value,…" → value, for whole-series comparisons. */
function series(samples: Sample[], name: string, keys: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples.filter((x) => x.name === name)) out[keys.map((k) => `${k}=${s.labels[k]}`).join(',')] = s.value;
  return out;
}

function rowsToSeries(rows: Record<string, string>[], keys: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) out[keys.map((k) => `${k}=${r[k]}`).join(',')] = Number(r.n);
  return out;
}

describe('GET /metrics', () => {
  let stack: Stack;
  let sink: SmtpSink;
  const metricsToken = `metrics-${randomBytes(12).toString('hex')}`;

  beforeAll(async () => {
    sink = await new SmtpSink().start();
    stack = await startStack({ worker: true, env: { METRICS_TOKEN: metricsToken } });
  });
  afterAll(async () => {
    await stack?.close();
    await sink?.stop();
  });

  const scrape = async (key: string) => {
    const res = await stack.app.inject({ method: 'GET', url: '/metrics', headers: bearer(key) });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    return parseExposition(res.body);
  };

  it('with METRICS_TOKEN set, answers 401 without that token or the operator key', async () => {
    const client = await newClient(stack);
    for (const headers of [{}, bearer('not-the-metrics-token-at-all'), bearer(client.apiKey)]) {
      const res = await stack.app.inject({ method: 'GET', url: '/metrics', headers });
      expect(res.statusCode).toBe(401);
      expect(res.body).not.toContain('outreach_sends');
    }
    await scrape(stack.adminKey); // the operator key is accepted too
  });

  it('after a small campaign, shows counts equal to the rows in PostgreSQL', async () => {
    const client = await newClient(stack);
    const provider = await newSmtpProvider(stack, sink.port);
    const idle = await newProvider(stack, 'smtp', { host: '127.0.0.1', port: 1 });
    const c = await campaignWithLeads(stack, client, { providers: [provider.name], mailboxes: 2, leads: 6 });
    await c.start();
    await c.waitDone();
    expect(sink.received.filter((m) => m.to.some((t) => c.emails.includes(t)))).toHaveLength(6);

    // Breaker and webhook rows written the way their owners write them (this API has no webhook route yet).
    await stack.pool.query(
      `INSERT INTO provider_health (provider_account_id, state, opened_at) VALUES ($1, 'open', now())`,
      [idle.id],
    );
    const { rows: sendRows } = await stack.pool.query<{ id: string }>('SELECT id FROM sends WHERE campaign_id = $1', [c.campaignId]);
    const events = [['smtp', 'delivery'], ['smtp', 'delivery'], ['sendgrid', 'bounce']] as const;
    for (const [i, [kind, type]] of events.entries()) {
      await stack.pool.query(
        `INSERT INTO events (id, client_id, send_id, provider_kind, type, dedupe_key, payload, occurred_at)
         VALUES ($1, $2, $3, $4, $5, $6, '{}'::jsonb, now())`,
        [randomUUID(), client.id, sendRows[i]!.id, kind, type, `metrics-test-${randomUUID()}`],
      );
    }

    const samples = await scrape(metricsToken);
    const q = async (sql: string) => (await stack.pool.query<Record<string, string>>(sql)).rows;

    // Sends by client, provider and status: every series equals a GROUP BY over the rows, and nothing extra.
    const sendKeys = ['client', 'provider', 'status'];
    const dbSends = rowsToSeries(await q(
      `SELECT s.client_id::text AS client, coalesce(pa.name, 'none') AS provider, s.status, count(*) AS n
         FROM sends s LEFT JOIN provider_accounts pa ON pa.id = s.provider_account_id GROUP BY 1, 2, 3`), sendKeys);
    expect(series(samples, 'outreach_sends', sendKeys)).toEqual(dbSends);
    expect(dbSends[`client=${client.id},provider=${provider.name},status=sent`]).toBe(6);

    const mbKeys = ['pool', 'status'];
    const dbMailboxes = rowsToSeries(await q('SELECT pool, status, count(*) AS n FROM mailboxes GROUP BY 1, 2'), mbKeys);
    expect(series(samples, 'outreach_mailboxes', mbKeys)).toEqual(dbMailboxes);
    expect(Object.entries(dbMailboxes).find(([k]) => k.startsWith(`pool=pool-${c.tag},`))).toEqual([`pool=pool-${c.tag},status=active`, 2]);

    const evKeys = ['provider', 'type'];
    const dbEvents = rowsToSeries(await q('SELECT provider_kind AS provider, type, count(*) AS n FROM events GROUP BY 1, 2'), evKeys);
    expect(series(samples, 'outreach_webhook_events', evKeys)).toEqual(dbEvents);
    expect(dbEvents['provider=smtp,type=delivery']).toBeGreaterThanOrEqual(2);

    const campaigns = series(samples, 'outreach_campaigns', ['status']);
    expect(campaigns).toEqual(rowsToSeries(await q('SELECT status, count(*) AS n FROM campaigns GROUP BY 1'), ['status']));

    const breaker = series(samples, 'outreach_provider_breaker_state', ['provider', 'state']);
    expect(breaker).toMatchObject({
      [`provider=${idle.name},state=open`]: 1,
      [`provider=${idle.name},state=closed`]: 0,
      [`provider=${idle.name},state=half_open`]: 0,
      [`provider=${provider.name},state=closed`]: 1,
      [`provider=${provider.name},state=open`]: 0,
    });

    // The campaign is done, so the worker's queue is drained: backlog 0 on both task-queue types.
    expect(series(samples, 'outreach_task_queue_backlog', ['task_queue', 'type'])).toEqual({
      [`task_queue=${stack.config.TEMPORAL_TASK_QUEUE},type=workflow`]: 0,
      [`task_queue=${stack.config.TEMPORAL_TASK_QUEUE},type=activity`]: 0,
    });
    expect(series(samples, 'outreach_metrics_source_up', ['source'])).toEqual({ 'source=postgres': 1, 'source=temporal': 1 });

    // Latency histogram: the campaign polls above went through GET /v1/campaigns/:id.
    const count = samples.find((s) => s.name === 'outreach_http_request_duration_seconds_count'
      && s.labels.route === '/v1/campaigns/:id' && s.labels.method === 'GET' && s.labels.status_code === '200');
    expect(count?.value).toBeGreaterThanOrEqual(1);
    // No recipient address anywhere in the output.
    const text = (await stack.app.inject({ method: 'GET', url: '/metrics', headers: bearer(metricsToken) })).body;
    for (const email of c.emails) expect(text).not.toContain(email);
  }, 180_000);

  it('reports the task-queue backlog while no worker polls it (no METRICS_TOKEN: open to any scraper, as API.md has it)', async () => {
    // A second stack without a worker, on its own task queue: a started campaign's first workflow task waits there.
    const idleStack = await startStack({ worker: false });
    try {
      const client = await newClient(idleStack);
      const provider = await newSmtpProvider(idleStack, sink.port);
      const c = await campaignWithLeads(idleStack, client, { providers: [provider.name], mailboxes: 1, leads: 1 });
      await c.start();
      const deadline = Date.now() + 30_000;
      let backlog = 0;
      while (Date.now() < deadline && backlog < 1) {
        const res = await idleStack.app.inject({ method: 'GET', url: '/metrics' });
        expect(res.statusCode).toBe(200);
        backlog = series(parseExposition(res.body), 'outreach_task_queue_backlog', ['type'])['type=workflow'] ?? 0;
        if (backlog < 1) await new Promise((r) => setTimeout(r, 500));
      }
      expect(backlog).toBeGreaterThanOrEqual(1);
    } finally {
      await idleStack.close();
    }
  });
});
