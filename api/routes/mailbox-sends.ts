import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { notFound } from '../../core/errors';
import { cursorQuery, idParams, page } from '../../core/schemas/common';
import { sendStatus, sendView } from '../../core/schemas/sends';
import { getMailbox, getMailboxById } from '../../db/repositories/mailboxes';
import { listMailboxSends } from '../../db/repositories/sends';
import type { AppDeps } from '../deps';
import { ownerOf } from '../plugins/auth';

/**
 * One mailbox's sends, newest first. A client key reads its own mailboxes'
 * (another client's mailbox, or an agency one, is a 404); the operator's key
 * any mailbox's, every client's sends through it.
 */
export function mailboxSendRoutes(app: FastifyInstance, { pool }: AppDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/v1/mailboxes/:id/sends', {
    config: { auth: 'any' },
    schema: {
      tags: ['mailboxes'],
      params: idParams,
      description: "The mailbox's sends, newest first; nextCursor is the last one's id (the next page holds older sends).",
      querystring: z.strictObject({
        status: sendStatus.optional(),
        /** Only this campaign's sends. */
        campaignId: z.uuid().optional(),
        ...cursorQuery,
      }),
      response: { 200: page(sendView) },
    },
  }, async (req) => {
    const owner = ownerOf(req);
    const mailbox = owner === null ? await getMailboxById(pool, req.params.id) : await getMailbox(pool, owner, req.params.id);
    if (!mailbox) throw notFound('mailbox');
    const { limit } = req.query;
    const rows = await listMailboxSends(pool, mailbox.id, {
      clientId: owner,
      status: req.query.status,
      campaignId: req.query.campaignId,
      beforeId: req.query.cursor,
      limit: limit + 1,
    });
    const items = rows.slice(0, limit).map((s) => ({
      ...s,
      createdAt: s.createdAt.toISOString(),
      sentAt: s.sentAt?.toISOString() ?? null,
      updatedAt: s.updatedAt.toISOString(),
    }));
    return { items, nextCursor: rows.length > limit ? items[items.length - 1]!.id : null };
  });
}
