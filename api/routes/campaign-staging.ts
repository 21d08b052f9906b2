import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { notFound } from '../../core/errors';
import { campaignStatusAnswer } from '../../core/schemas/campaigns';
import { errorResponse, idParams } from '../../core/schemas/common';
import { sendPreview } from '../../core/schemas/sends';
import { getCampaign } from '../../db/repositories/campaigns';
import { getSendPreview } from '../../db/repositories/staging';
import { approveCampaign } from '../../services/campaign-approve';
import type { AppDeps } from '../deps';
import { clientIdOf } from '../plugins/auth';

/** Dry runs and staged starts (issue 14): approving a staged campaign's rest, and a dry-run send's rendered message. */
export function campaignStagingRoutes(app: FastifyInstance, { pool, temporal, config }: AppDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/v1/campaigns/:id/approve', {
    config: { auth: 'client' },
    schema: {
      tags: ['campaigns'],
      params: idParams,
      description:
        "A staged campaign awaiting approval (its sample is done) sends to the rest of its leads: 'running' again; no lead gets a step twice. " +
        'Anything else is a 409; cancel ends a campaign awaiting approval instead.',
      response: { 200: campaignStatusAnswer, 404: errorResponse, 409: errorResponse },
    },
  }, async (req) => {
    const status = await approveCampaign(pool, temporal, config.TEMPORAL_TASK_QUEUE, clientIdOf(req), req.params.id);
    return { status };
  });

  r.get('/v1/campaigns/:id/sends/:sendId/preview', {
    config: { auth: 'client' },
    schema: {
      tags: ['campaigns'],
      params: idParams.extend({ sendId: z.uuid() }),
      description: 'The message a dry-run send would have sent, as rendered (subject, bodies, headers, threading). A 404 for a send with no preview.',
      response: { 200: sendPreview, 404: errorResponse },
    },
  }, async (req) => {
    const clientId = clientIdOf(req);
    const c = await getCampaign(pool, clientId, req.params.id);
    if (!c) throw notFound('campaign');
    const p = await getSendPreview(pool, clientId, c.id, req.params.sendId);
    if (!p) throw notFound('send preview');
    return { ...p, renderedAt: p.renderedAt.toISOString() } as z.infer<typeof sendPreview>;
  });
}
