import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { badRequest, conflict, forbidden, notFound } from '../../core/errors';
import { uuidv7 } from '../../core/ids';
import { cursorQuery, email } from '../../core/schemas/common';
import { getClient } from '../../db/repositories/clients';
import { listSuppressions, lockSuppression, removeSuppression, suppressMany } from '../../db/repositories/suppressions';
import { withTransaction } from '../../db/pool';
import type { AppDeps } from '../deps';
import { clientIdOf, ownerOf } from '../plugins/auth';

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

  r.delete('/v1/suppressions/:email', {
    config: { auth: 'any', errors: [403, 409] },
    schema: {
      tags: ['suppressions'],
      params: z.strictObject({ email }),
      querystring: z.strictObject({
        /** Operator only: the client whose suppression list this is (required with the operator key). */
        clientId: z.uuid().optional(),
        /** Operator only: remove a complaint too (a client key forcing is a 403). */
        force: z.enum(['true', 'false']).optional(),
      }),
      description:
        "Takes an address off the client's suppression list (its leads already stopped stay stopped; new leads for it are taken). " +
        'A complaint is refused (409) unless the operator forces it (force=true). Every removal is kept in suppression_removals, with who did it.',
      response: { 200: z.object({ email: z.string(), reason: z.string(), removed: z.literal(true), forced: z.boolean() }) },
    },
  }, async (req) => {
    const caller = ownerOf(req);
    const force = req.query.force === 'true';
    if (caller !== null) {
      if (req.query.clientId !== undefined && req.query.clientId !== caller) {
        throw forbidden('clientId is for the operator key only', [{ path: 'clientId', message: 'a client key removes its own suppressions' }]);
      }
      if (force) throw forbidden('force is for the operator key only', [{ path: 'force', message: 'only the operator may remove a complaint' }]);
    } else if (req.query.clientId === undefined) {
      throw badRequest('clientId is required with the operator key', [{ path: 'clientId', message: 'name the client whose suppression this is' }]);
    } else if (!(await getClient(pool, req.query.clientId))) {
      throw notFound('client', [{ path: 'clientId', message: 'no client with this id' }]);
    }
    const clientId = caller ?? req.query.clientId!;
    const address = req.params.email;
    const removed = await withTransaction(pool, async (tx) => {
      const row = await lockSuppression(tx, clientId, address);
      if (!row) throw notFound('suppression');
      if (row.reason === 'complaint' && !force) {
        throw conflict('a complaint stays suppressed; only the operator can remove it, with force=true', [{ path: 'email', message: 'suppressed for a complaint' }]);
      }
      const actor = req.principal?.kind === 'client' ? `key:${req.principal.keyId}` : 'operator';
      const id = uuidv7();
      await removeSuppression(tx, { id, clientId, email: address, reason: row.reason, suppressedAt: row.createdAt, actor, forced: row.reason === 'complaint' });
      return { id, reason: row.reason, actor };
    });
    // The address stays out of the log (PII): the removal row holds it.
    req.log.info({ clientId, removalId: removed.id, reason: removed.reason, actor: removed.actor, forced: removed.reason === 'complaint' }, 'suppression removed');
    return { email: address, reason: removed.reason, removed: true as const, forced: removed.reason === 'complaint' };
  });
}
