import type { FastifyInstance, FastifyRequest } from 'fastify';
import { safeEqual } from '../../core/crypto';
import { AppError } from '../../core/errors';
import { engineRates } from '../../core/cost';
import { EngineMetrics } from '../../core/metrics';
import type { AppDeps } from '../deps';

/**
 * GET /metrics (Prometheus text format) and the latency histogram of every
 * request. Open to anyone as API.md has it, unless METRICS_TOKEN is set: the
 * figures name clients and provider accounts, so a deployment reachable from
 * outside sets it (compose requires it) and then the route takes
 * `Authorization: Bearer <METRICS_TOKEN>` (a scrape-only secret for
 * Prometheus) or the operator key.
 *
 * Register it before the other routes: its onResponse hook must see them all.
 */
export function metricsRoutes(app: FastifyInstance, deps: AppDeps): EngineMetrics {
  const metrics = new EngineMetrics({
    pool: deps.pool,
    temporal: deps.temporal,
    namespace: deps.config.TEMPORAL_NAMESPACE,
    taskQueue: deps.config.TEMPORAL_TASK_QUEUE,
    costs: engineRates(deps.config),
  });
  const accepted = [deps.config.METRICS_TOKEN, deps.config.ADMIN_API_KEY].filter((k): k is string => !!k);

  app.addHook('onResponse', async (req, reply) => {
    metrics.httpDuration.observe(
      { method: req.method, route: req.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  const authorize = async (req: FastifyRequest) => {
    if (!deps.config.METRICS_TOKEN) return;
    const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!match || !accepted.some((k) => safeEqual(match[1]!, k))) {
      throw new AppError(401, 'unauthorized', 'missing or invalid metrics token (METRICS_TOKEN or the operator key)');
    }
  };

  app.get('/metrics', { config: { auth: 'public' }, schema: { hide: true }, onRequest: authorize }, async (_req, reply) => {
    const text = await metrics.scrape();
    return reply.header('content-type', metrics.contentType).send(text);
  });
  return metrics;
}
