import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps';

async function check(fn: () => Promise<unknown>, ms = 2000): Promise<'ok' | string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), ms))),
    ]);
    return 'ok';
  } catch (err) {
    return (err as Error).message.slice(0, 200);
  } finally {
    clearTimeout(timer);
  }
}

export function healthRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.get('/healthz', { config: { auth: 'public' }, schema: { hide: true } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { config: { auth: 'public' }, schema: { hide: true } }, async (_req, reply) => {
    const [postgres, temporal] = await Promise.all([
      check(() => deps.pool.query('SELECT 1')),
      check(() =>
        deps.temporal.workflowService.describeNamespace({ namespace: deps.config.TEMPORAL_NAMESPACE }),
      ),
    ]);
    const ready = postgres === 'ok' && temporal === 'ok';
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks: { postgres, temporal } });
  });
}
