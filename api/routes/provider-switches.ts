import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { cursorQuery, page } from '../../core/schemas/common';
import { listProviderSwitches } from '../../db/repositories/provider-health';
import type { AppDeps } from '../deps';

const breakerState = z.enum(['closed', 'open', 'half_open']);

const switchView = z.object({
  id: z.string(),
  providerId: z.string(),
  provider: z.string(),
  kind: z.string(),
  /** The circuit breaker's transition: closed → open sends go to the next provider; open → half_open one probe; half_open → closed back. */
  fromState: breakerState,
  toState: breakerState,
  reason: z.string(),
  at: z.string(),
});

/** Provider switches: every circuit-breaker transition of a provider account (operator only). */
export function providerSwitchRoutes(app: FastifyInstance, { pool }: AppDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/v1/provider-switches', {
    config: { auth: 'operator' },
    schema: {
      tags: ['providers'],
      description: 'Newest first; nextCursor is the last one\'s id (the next page holds older switches).',
      querystring: z.strictObject({
        /** Only this provider account's. */
        providerId: z.uuid().optional(),
        /** Only transitions into this state (open: the provider was switched away from). */
        toState: breakerState.optional(),
        ...cursorQuery,
      }),
      response: { 200: page(switchView) },
    },
  }, async (req) => {
    const { limit } = req.query;
    const rows = await listProviderSwitches(pool, {
      providerId: req.query.providerId,
      toState: req.query.toState,
      beforeId: req.query.cursor,
      limit: limit + 1,
    });
    const items = rows.slice(0, limit).map((s) => ({ ...s, at: s.at.toISOString() }));
    return { items, nextCursor: rows.length > limit ? items[items.length - 1]!.id : null };
  });
}
