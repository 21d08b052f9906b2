import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { cursorQuery, email } from '../../core/schemas/common';
import { listSuppressions, suppressMany } from '../../db/repositories/suppressions';
import { withTransaction } from '../../db/pool';
import type { AppDeps } from '../deps';
import { clientIdOf } from '../plugins/auth';

export const MAX_SUPPRESSIONS_PER_CALL = 10_000;

/**
 * The cursor is the last address of the page, base64url-encoded (an address stays out of URLs and their logs in clear).
 * Pages follow address order, so any well-formed cursor is a place to start after: the schema's pattern is the whole rule.
 */
const encode = (email: string) => Buffer.from(email, 'utf8').toString('base64url');
const decode = (cursor: string) => Buffer.from(cursor, 'base64url').toString('utf8');
const suppressionCursor = z.string().regex(/^[A-Za-z0-9_-]{1,400}$/, 'not a cursor from this API').describe('nextCursor of the previous page');

/**
 * A client's suppression list: addresses never mailed again by that client
 * (hard bounces, complaints and unsubscribes are added by the feedback loop;
 * POST adds them by hand). Adding one also stops that client's leads still
 * waiting for it.
 */
export function suppressionRoutes(app: FastifyInstance, { pool }: AppDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/v1/suppressions', {
    config: { auth: 'client' },
    schema: { tags: ['suppressions'], querystring: z.strictObject({ ...cursorQuery, cursor: suppressionCursor.optional() }) },
  }, async (req) => {
    const after = req.query.cursor === undefined ? null : decode(req.query.cursor);
    const rows = await listSuppressions(pool, clientIdOf(req), after, req.query.limit + 1);
    const items = rows.slice(0, req.query.limit);
    return { items, nextCursor: rows.length > req.query.limit ? encode(items[items.length - 1]!.email) : null };
  });

  r.post('/v1/suppressions', {
    config: { auth: 'client' },
    // Room for the most the schema allows (10,000 addresses of up to 254 characters, quoted): a valid call is never a 413.
    bodyLimit: MAX_SUPPRESSIONS_PER_CALL * 260 + 1024,
    schema: {
      tags: ['suppressions'],
      body: z.strictObject({ emails: z.array(email).min(1).max(MAX_SUPPRESSIONS_PER_CALL) }),
    },
  }, async (req, reply) => {
    const clientId = clientIdOf(req);
    const emails = [...new Set(req.body.emails)];
    const added = await withTransaction(pool, (tx) => suppressMany(tx, clientId, emails, 'manual'));
    return reply.status(201).send({ added, alreadySuppressed: emails.length - added });
  });
}
