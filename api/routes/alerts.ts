import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { forbidden, notFound } from '../../core/errors';
import { cursorQuery, idParams, page } from '../../core/schemas/common';
import { acknowledgeAlert, listAlerts, type StoredAlert } from '../../db/repositories/alerts';
import type { AppDeps } from '../deps';
import { ownerOf } from '../plugins/auth';

const alertView = z.object({
  id: z.string(),
  /** The client it concerns; null: the agency's (a provider, an agency mailbox or domain). */
  clientId: z.string().nullable(),
  kind: z.string(),
  subjectType: z.string(),
  subjectId: z.string(),
  message: z.string(),
  createdAt: z.string(),
  /** When it was acknowledged (POST /v1/alerts/:id/ack); null while open. */
  resolvedAt: z.string().nullable(),
  /** Who acknowledged it: 'operator' or 'key:<api key id>'. */
  resolvedBy: z.string().nullable(),
});

const view = (a: StoredAlert): z.infer<typeof alertView> => ({
  id: a.id,
  clientId: a.clientId,
  kind: a.kind,
  subjectType: a.subjectType,
  subjectId: a.subjectId,
  message: a.message,
  createdAt: a.createdAt.toISOString(),
  resolvedAt: a.resolvedAt?.toISOString() ?? null,
  resolvedBy: a.resolvedBy,
});

const listQuery = z.strictObject({
  /** e.g. mailbox_rested, domain_out_of_rotation, provider_switched, campaign_failed. */
  kind: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be an alert kind, e.g. mailbox_rested').optional(),
  subjectType: z.enum(['mailbox', 'domain', 'provider', 'campaign']).optional(),
  /** The id of the mailbox, domain, provider or campaign it is about. */
  subjectId: z.string().regex(/^[A-Za-z0-9_.:-]{1,200}$/, 'must be an id').optional(),
  /** open: not acknowledged yet; acknowledged: the others. */
  state: z.enum(['open', 'acknowledged']).optional(),
  /** Operator only: one client's alerts, or `agency` for those of no client. */
  clientId: z.union([z.uuid(), z.literal('agency')]).optional(),
  ...cursorQuery,
});

/**
 * Alerts (the reputation controller's rests and switches, failed campaigns,
 * DNS failures...). A client key sees and acknowledges its own client's; the
 * operator's key every one.
 */
export function alertRoutes(app: FastifyInstance, { pool }: AppDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/v1/alerts', {
    config: { auth: 'any', errors: [403] },
    schema: {
      tags: ['alerts'],
      description: 'Newest first; nextCursor is the last one\'s id (the next page holds older alerts). A client key naming another client is a 403.',
      querystring: listQuery,
      response: { 200: page(alertView) },
    },
  }, async (req) => {
    const caller = ownerOf(req);
    const { clientId, limit } = req.query;
    if (caller !== null && clientId !== undefined && clientId !== caller) {
      throw forbidden('clientId is for the operator key only', [{ path: 'clientId', message: 'a client key lists its own alerts' }]);
    }
    const rows = await listAlerts(pool, {
      clientId: caller ?? (clientId === 'agency' ? null : (clientId ?? null)),
      agencyOnly: caller === null && clientId === 'agency',
      kind: req.query.kind,
      subjectType: req.query.subjectType,
      subjectId: req.query.subjectId,
      state: req.query.state,
      beforeId: req.query.cursor,
      limit: limit + 1,
    });
    const items = rows.slice(0, limit).map(view);
    return { items, nextCursor: rows.length > limit ? items[items.length - 1]!.id : null };
  });

  r.post('/v1/alerts/:id/ack', {
    config: { auth: 'any' },
    schema: {
      tags: ['alerts'],
      params: idParams,
      description: 'Acknowledges the alert (resolvedAt, resolvedBy); acknowledging it again changes nothing.',
      response: { 200: alertView },
    },
  }, async (req) => {
    const caller = ownerOf(req);
    const by = req.principal?.kind === 'client' ? `key:${req.principal.keyId}` : 'operator';
    const a = await acknowledgeAlert(pool, req.params.id, caller, by);
    if (!a) throw notFound('alert');
    req.log.info({ alertId: a.id, clientId: a.clientId, kind: a.kind, by }, 'alert acknowledged');
    return view(a);
  });
}
