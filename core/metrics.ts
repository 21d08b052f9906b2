import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { engineShare, type EngineRates } from './cost';

/**
 * Prometheus metrics of the engine. Business figures (sends, mailboxes,
 * breakers, webhook events, campaigns) are gauges read from PostgreSQL at
 * scrape time, so they always equal the rows, whichever API replica is
 * scraped and however often workers restart. The task-queue backlog comes
 * from Temporal's DescribeTaskQueue (report_stats). Request latency is a
 * histogram fed by the API's onResponse hook.
 *
 * Labels carry ids and names, never recipient addresses.
 */
export interface MetricsSources {
  pool: Pool;
  temporal: Client;
  namespace: string;
  taskQueue: string;
  /** The engine's cost rates and the target (core/cost.ts); without them no cost figures are exported. */
  costs?: EngineRates;
}

export const METRIC_NAMES = {
  sends: 'outreach_sends',
  breakerState: 'outreach_provider_breaker_state',
  mailboxes: 'outreach_mailboxes',
  campaigns: 'outreach_campaigns',
  backlog: 'outreach_task_queue_backlog',
  backlogAge: 'outreach_task_queue_backlog_age_seconds',
  webhookEvents: 'outreach_webhook_events',
  replies: 'outreach_replies',
  opens: 'outreach_opens',
  clicks: 'outreach_clicks',
  sourceUp: 'outreach_metrics_source_up',
  httpDuration: 'outreach_http_request_duration_seconds',
  costPerEmail: 'outreach_cost_per_email_usd',
  costPerEmailTarget: 'outreach_cost_per_email_target_usd',
  costMonth: 'outreach_cost_month_usd',
} as const;

const COST_COMPONENTS = ['provider', 'temporal', 'infra', 'total'] as const;

const BREAKER_STATES = ['closed', 'open', 'half_open'] as const;
const TASK_QUEUE_TYPES = [
  { type: 'workflow', code: 1 }, // TASK_QUEUE_TYPE_WORKFLOW
  { type: 'activity', code: 2 }, // TASK_QUEUE_TYPE_ACTIVITY
] as const;

export class EngineMetrics {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  private readonly sends: Gauge<'client' | 'provider' | 'status'>;
  private readonly breaker: Gauge<'provider' | 'kind' | 'state'>;
  private readonly mailboxes: Gauge<'pool' | 'status'>;
  private readonly campaigns: Gauge<'status'>;
  private readonly backlog: Gauge<'task_queue' | 'type'>;
  private readonly backlogAge: Gauge<'task_queue' | 'type'>;
  private readonly webhookEvents: Gauge<'provider' | 'type'>;
  private readonly replies: Gauge<'client' | 'type'>;
  private readonly opens: Gauge<'client' | 'source'>;
  private readonly clicks: Gauge<'client' | 'source'>;
  private readonly sourceUp: Gauge<'source'>;
  private readonly costPerEmail: Gauge<'component'>;
  private readonly costPerEmailTarget: Gauge;
  private readonly costMonth: Gauge<'component'>;
  /** Scrapes run one at a time: a reset in one never blanks another's output. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly sources: MetricsSources) {
    const registers = [this.registry];
    this.sends = new Gauge({
      name: METRIC_NAMES.sends,
      help: 'Send rows in PostgreSQL by status, provider account (name; "none" before any attempt) and client id',
      labelNames: ['client', 'provider', 'status'], registers,
    });
    this.breaker = new Gauge({
      name: METRIC_NAMES.breakerState,
      help: 'Circuit breaker state per provider account: 1 for the current state, 0 for the others',
      labelNames: ['provider', 'kind', 'state'], registers,
    });
    this.mailboxes = new Gauge({
      name: METRIC_NAMES.mailboxes, help: 'Sender mailboxes by pool and status',
      labelNames: ['pool', 'status'], registers,
    });
    this.campaigns = new Gauge({
      name: METRIC_NAMES.campaigns, help: 'Campaigns by status', labelNames: ['status'], registers,
    });
    this.backlog = new Gauge({
      name: METRIC_NAMES.backlog,
      help: "Approximate number of tasks waiting in the worker's Temporal task queue (DescribeTaskQueue report_stats)",
      labelNames: ['task_queue', 'type'], registers,
    });
    this.backlogAge = new Gauge({
      name: METRIC_NAMES.backlogAge,
      help: 'Age of the oldest task waiting in the Temporal task queue, in seconds',
      labelNames: ['task_queue', 'type'], registers,
    });
    this.webhookEvents = new Gauge({
      name: METRIC_NAMES.webhookEvents, help: 'Stored provider webhook events by provider kind and event type',
      labelNames: ['provider', 'type'], registers,
    });
    this.replies = new Gauge({
      name: METRIC_NAMES.replies, help: 'Replies matched to a send, by client id and type (replied, auto_replied)',
      labelNames: ['client', 'type'], registers,
    });
    this.opens = new Gauge({
      name: METRIC_NAMES.opens,
      help: 'Opened sends (open tracking, a send counted once per source) by client id and source: person, or prefetch (Apple Mail Privacy Protection, scanners)',
      labelNames: ['client', 'source'], registers,
    });
    this.clicks = new Gauge({
      name: METRIC_NAMES.clicks,
      help: 'Clicked links (click tracking, each link of a send counted once per source) by client id and source: person or prefetch',
      labelNames: ['client', 'source'], registers,
    });
    this.sourceUp = new Gauge({
      name: METRIC_NAMES.sourceUp,
      help: 'Whether the last scrape could read its source (postgres, temporal): 1 yes, 0 no',
      labelNames: ['source'], registers,
    });
    this.costPerEmail = new Gauge({
      name: METRIC_NAMES.costPerEmail,
      help: 'Cost per sent email this calendar month (UTC) so far, every client, in USD, by component: provider (recorded per send), temporal and infra (the engine, estimated), total',
      labelNames: ['component'], registers,
    });
    this.costPerEmailTarget = new Gauge({
      name: METRIC_NAMES.costPerEmailTarget, help: 'The cost per email target in USD (COST_PER_EMAIL_TARGET_USD)', registers,
    });
    this.costMonth = new Gauge({
      name: METRIC_NAMES.costMonth,
      help: 'Cost of this calendar month\'s (UTC) sends so far, every client, in USD, by component (the infra component is INFRA_MONTHLY_USD once anything was sent)',
      labelNames: ['component'], registers,
    });
    if (sources.costs) this.costPerEmailTarget.set(sources.costs.targetPerEmailUsd);
    this.httpDuration = new Histogram({
      name: METRIC_NAMES.httpDuration,
      help: 'API request latency in seconds by method, route pattern and status code',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'outreach_api_' });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Reads every source, then renders the exposition text. */
  scrape(): Promise<string> {
    const run = this.queue.then(async () => {
      await Promise.all([this.readPostgres(), this.readTemporal()]);
      return this.registry.metrics();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async readPostgres(): Promise<void> {
    const { pool } = this.sources;
    try {
      const [sends, breakers, mailboxes, campaigns, events, replies, engagements, month] = await Promise.all([
        pool.query<{ client: string; provider: string; status: string; n: string }>(
          `SELECT s.client_id::text AS client, coalesce(pa.name, 'none') AS provider, s.status, count(*) AS n
             FROM sends s LEFT JOIN provider_accounts pa ON pa.id = s.provider_account_id
            GROUP BY 1, 2, 3`,
        ),
        pool.query<{ provider: string; kind: string; state: string }>(
          `SELECT pa.name AS provider, pa.kind, coalesce(ph.state, 'closed') AS state
             FROM provider_accounts pa LEFT JOIN provider_health ph ON ph.provider_account_id = pa.id`,
        ),
        pool.query<{ pool: string; status: string; n: string }>(
          'SELECT pool, status, count(*) AS n FROM mailboxes GROUP BY 1, 2',
        ),
        pool.query<{ status: string; n: string }>('SELECT status, count(*) AS n FROM campaigns GROUP BY 1'),
        pool.query<{ provider: string; type: string; n: string }>(
          'SELECT provider_kind AS provider, type, count(*) AS n FROM events GROUP BY 1, 2',
        ),
        pool.query<{ client: string; type: string; n: string }>(
          `SELECT client_id::text AS client, type, count(*) AS n FROM events
            WHERE type IN ('replied', 'auto_replied') AND client_id IS NOT NULL GROUP BY 1, 2`,
        ),
        pool.query<{ client: string; kind: string; prefetch: boolean; n: string }>(
          'SELECT client_id::text AS client, kind, prefetch, count(*) AS n FROM engagements GROUP BY 1, 2, 3',
        ),
        // This calendar month's (UTC) accepted sends and their recorded cost (db/repositories/costs.ts counts the same sends).
        pool.query<{ n: number; usd: number }>(
          `SELECT count(*)::int AS n, coalesce(sum(cost_usd), 0)::float8 AS usd FROM sends
            WHERE provider_message_id IS NOT NULL AND provider_account_id IS NOT NULL
              AND sent_at >= (date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')
              AND sent_at < ((date_trunc('month', now() AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC')`,
        ),
      ]);
      this.sends.reset();
      for (const r of sends.rows) this.sends.set({ client: r.client, provider: r.provider, status: r.status }, Number(r.n));
      this.breaker.reset();
      for (const r of breakers.rows) {
        for (const state of BREAKER_STATES) this.breaker.set({ provider: r.provider, kind: r.kind, state }, r.state === state ? 1 : 0);
      }
      this.mailboxes.reset();
      for (const r of mailboxes.rows) this.mailboxes.set({ pool: r.pool, status: r.status }, Number(r.n));
      this.campaigns.reset();
      for (const r of campaigns.rows) this.campaigns.set({ status: r.status }, Number(r.n));
      this.webhookEvents.reset();
      for (const r of events.rows) this.webhookEvents.set({ provider: r.provider, type: r.type }, Number(r.n));
      this.replies.reset();
      for (const r of replies.rows) this.replies.set({ client: r.client, type: r.type }, Number(r.n));
      this.opens.reset();
      this.clicks.reset();
      for (const r of engagements.rows) {
        (r.kind === 'open' ? this.opens : this.clicks).set({ client: r.client, source: r.prefetch ? 'prefetch' : 'person' }, Number(r.n));
      }
      this.setCosts(month.rows[0]?.n ?? 0, month.rows[0]?.usd ?? 0);
      this.sourceUp.set({ source: 'postgres' }, 1);
    } catch {
      // Stale figures would lie: drop them and say the source is down.
      for (const g of [this.sends, this.breaker, this.mailboxes, this.campaigns, this.webhookEvents, this.replies, this.opens, this.clicks, this.costPerEmail, this.costMonth]) g.reset();
      this.sourceUp.set({ source: 'postgres' }, 0);
    }
  }

  /** The month's cost by component and per email (no per-email figure before the month's first send). */
  private setCosts(sends: number, providerUsd: number): void {
    this.costPerEmail.reset();
    this.costMonth.reset();
    const rates = this.sources.costs;
    if (!rates) return;
    const engine = engineShare([{ sends, allSends: sends }], rates);
    const usd = { provider: providerUsd, temporal: engine.temporalUsd, infra: engine.infraUsd, total: providerUsd + engine.temporalUsd + engine.infraUsd };
    for (const component of COST_COMPONENTS) {
      this.costMonth.set({ component }, usd[component]);
      if (sends > 0) this.costPerEmail.set({ component }, usd[component] / sends);
    }
  }

  private async readTemporal(): Promise<void> {
    const { temporal, namespace, taskQueue } = this.sources;
    try {
      const answers = await Promise.all(
        TASK_QUEUE_TYPES.map(async ({ type, code }) => {
          const res = await temporal.connection.withDeadline(Date.now() + 2_000, () =>
            temporal.workflowService.describeTaskQueue({
              namespace, taskQueue: { name: taskQueue, kind: 1 /* NORMAL */ }, taskQueueType: code, reportStats: true,
            }),
          );
          return { type, stats: res.stats };
        }),
      );
      this.backlog.reset();
      this.backlogAge.reset();
      for (const { type, stats } of answers) {
        this.backlog.set({ task_queue: taskQueue, type }, Number(stats?.approximateBacklogCount ?? 0));
        const age = stats?.approximateBacklogAge;
        this.backlogAge.set({ task_queue: taskQueue, type }, age ? Number(age.seconds ?? 0) + (age.nanos ?? 0) / 1e9 : 0);
      }
      this.sourceUp.set({ source: 'temporal' }, 1);
    } catch {
      this.backlog.reset();
      this.backlogAge.reset();
      this.sourceUp.set({ source: 'temporal' }, 0);
    }
  }
}
