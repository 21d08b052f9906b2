import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { notFound } from '../../core/errors';
import { idParams } from '../../core/schemas/common';
import { listRepliesQuery, replyPage, type replyView } from '../../core/schemas/replies';
import { getCampaign } from '../../db/repositories/campaigns';
import { listReplies, type ReplyRow } from '../../db/repositories/replies';
import type { AppDeps } from '../deps';
import { clientIdOf } from '../plugins/auth';

const view = (r: ReplyRow): z.infer<typeof replyView> => ({
  id: r.id,
  kind: r.kind,
  leadId: r.leadId,
  sendId: r.sendId,
  step: r.step === null ? null : r.step + 1,
  mailboxId: r.mailboxId,
  source: r.source as z.infer<typeof replyView>['source'],
  matchedBy: r.matchedBy as z.infer<typeof replyView>['matchedBy'],
  from: r.fromAddress,
  subject: r.subject,
  messageId: r.messageId,
  text: r.text,
  receivedAt: r.receivedAt.toISOString(),
});

/** The replies and auto-replies the inbound pipeline matched to a campaign's sends (services/inbound/ingest.ts). */
export function replyRoutes(app: FastifyInstance, { pool }: AppDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/v1/campaigns/:id/replies', {
    config: { auth: 'client' },
    schema: {
      tags: ['campaigns'],
      params: idParams,
      querystring: listRepliesQuery,
      description: 'Replies (kind reply) and auto-replies (kind auto_reply) matched to this campaign\'s sends, oldest first; `cursor` pages on.',
      response: { 200: replyPage },
    },
  }, async (req) => {
    const clientId = clientIdOf(req);
    const c = await getCampaign(pool, clientId, req.params.id);
    if (!c) throw notFound('campaign');
    const afterId = req.query.cursor;
    const rows = await listReplies(pool, clientId, c.id, { kind: req.query.kind, afterId, limit: req.query.limit + 1 });
    const items = rows.slice(0, req.query.limit);
    return { items: items.map(view), nextCursor: rows.length > req.query.limit ? items[items.length - 1]!.id : null };
  });
}
