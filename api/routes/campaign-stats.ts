import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { notFound } from '../../core/errors';
import { campaignStats, type StepFigures } from '../../core/schemas/campaign-stats';
import { errorResponse, idParams } from '../../core/schemas/common';
import { campaignStepCounts, EMPTY_COUNTS, type StepCounts } from '../../db/repositories/campaign-stats';
import { getCampaign } from '../../db/repositories/campaigns';
import { campaignVariantCounts, listVariantDecisions } from '../../db/repositories/variants';
import type { AppDeps } from '../deps';
import { clientIdOf } from '../plugins/auth';

const share = (n: number, sent: number) => (sent > 0 ? Math.round((n / sent) * 10_000) / 10_000 : null);

/** The API's shape of one step's (or the total's) counts, with rates over sent. */
export function figures(c: StepCounts): StepFigures {
  const r = (n: number) => share(n, c.sent);
  return {
    sent: c.sent,
    delivered: c.delivered,
    bounced: { hard: c.hardBounced, soft: c.softBounced },
    complained: c.complained,
    opened: c.opened,
    clicked: c.clicked,
    prefetched: { opened: c.prefetchOpened, clicked: c.prefetchClicked },
    replied: c.replied,
    autoReplied: c.autoReplied,
    unsubscribed: c.unsubscribed,
    rates: {
      delivered: r(c.delivered), hardBounced: r(c.hardBounced), softBounced: r(c.softBounced), complained: r(c.complained),
      opened: r(c.opened), clicked: r(c.clicked), replied: r(c.replied), autoReplied: r(c.autoReplied), unsubscribed: r(c.unsubscribed),
    },
  };
}

export function campaignStatsRoutes(app: FastifyInstance, { pool }: AppDeps): void {
  app.withTypeProvider<ZodTypeProvider>().get('/v1/campaigns/:id/stats', {
    config: { auth: 'client' },
    schema: {
      tags: ['campaigns'],
      params: idParams,
      description:
        'Per step, counted from the rows: sent, delivered, bounced (hard/soft), complained; opened and clicked (unique sends, ' +
        'prefetches by machines apart; only with tracking on); replied, autoReplied, unsubscribed; rates over sent. ' +
        'A step with A/B variants also has the same figures per variant, and its winner rule\'s decision once made.',
      response: { 200: campaignStats, 404: errorResponse },
    },
  }, async (req) => {
    const clientId = clientIdOf(req);
    const c = await getCampaign(pool, clientId, req.params.id);
    if (!c) throw notFound('campaign');
    const hasVariants = c.steps.some((s) => s.variants);
    const [counts, variantCounts, decisions] = await Promise.all([
      campaignStepCounts(pool, clientId, c.id, c.steps.length),
      hasVariants ? campaignVariantCounts(pool, clientId, c.id) : new Map<string, StepCounts>(),
      hasVariants ? listVariantDecisions(pool, clientId, c.id) : [],
    ]);
    const total = { ...EMPTY_COUNTS };
    for (const step of counts) for (const k of Object.keys(total) as (keyof StepCounts)[]) total[k] += step[k];
    return {
      campaignId: c.id,
      tracking: c.tracking,
      steps: counts.map((s, i) => {
        const def = c.steps[i]!;
        const d = decisions.find((x) => x.step === i);
        return {
          step: i,
          templateId: def.templateId ?? null,
          ...figures(s),
          variants: (def.variants ?? []).map((v) => ({
            templateId: v.templateId, weight: v.weight, ...figures(variantCounts.get(`${i}:${v.templateId}`) ?? EMPTY_COUNTS),
          })),
          winner: d ? { templateId: d.templateId, metric: d.metric, after: d.after, reason: d.reason, decidedAt: d.decidedAt.toISOString(), tallies: d.tallies } : null,
        };
      }),
      total: figures(total),
    };
  });
}
