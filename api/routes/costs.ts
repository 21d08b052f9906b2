import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { engineRates, engineShare, perEmail, type EngineRates } from '../../core/cost';
import { badRequest, notFound } from '../../core/errors';
import { errorResponse, idParams } from '../../core/schemas/common';
import { clientCostQuery, costReport, type CostReport } from '../../core/schemas/costs';
import { getCampaign } from '../../db/repositories/campaigns';
import { getClient } from '../../db/repositories/clients';
import { providerCosts, sendsByMonth, type CostScope } from '../../db/repositories/costs';
import type { AppDeps } from '../deps';
import { clientIdOf, ownerOf } from '../plugins/auth';

/** Provider cost per account, the engine's estimated share and the total, per sent email (README "Cost per email"). */
async function report(pool: AppDeps['pool'], scope: CostScope, rates: EngineRates): Promise<Omit<CostReport, 'clientId' | 'campaignId' | 'from' | 'to'>> {
  const [accounts, months] = await Promise.all([providerCosts(pool, scope), sendsByMonth(pool, scope)]);
  const sends = accounts.reduce((n, a) => n + a.sends, 0);
  const unpricedSends = accounts.reduce((n, a) => n + a.unpricedSends, 0);
  const providerUsd = accounts.reduce((n, a) => n + a.costUsd, 0);
  const engine = engineShare(months, rates);
  const engineUsd = engine.temporalUsd + engine.infraUsd;
  const totalPerEmail = perEmail(providerUsd + engineUsd, sends);
  return {
    providers: accounts.map((a) => ({
      providerAccountId: a.providerAccountId, name: a.name, kind: a.kind,
      sends: a.sends, unpricedSends: a.unpricedSends, costUsd: a.costUsd, costPerEmailUsd: perEmail(a.costUsd, a.sends),
    })),
    provider: { sends, unpricedSends, costUsd: providerUsd, costPerEmailUsd: perEmail(providerUsd, sends) },
    engine: {
      actionsPerEmail: rates.actionsPerEmail,
      temporalPricePerMillionActions: rates.temporalPricePerMillionActions,
      infraMonthlyUsd: rates.infraMonthlyUsd,
      temporalUsd: engine.temporalUsd,
      infraUsd: engine.infraUsd,
      costUsd: engineUsd,
      costPerEmailUsd: perEmail(engineUsd, sends),
    },
    total: { sends, costUsd: providerUsd + engineUsd, costPerEmailUsd: totalPerEmail },
    targetPerEmailUsd: rates.targetPerEmailUsd,
    withinTarget: totalPerEmail === null ? null : totalPerEmail <= rates.targetPerEmailUsd,
  };
}

const monthStart = (d: Date) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));

export function costRoutes(app: FastifyInstance, { pool, config }: AppDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const rates = engineRates(config);

  r.get('/v1/campaigns/:id/cost', {
    config: { auth: 'client' },
    schema: {
      tags: ['costs'],
      params: idParams,
      description: "The campaign's sends accepted by a provider: their recorded cost per provider account, the engine's estimated share and the total, per email.",
      response: { 200: costReport, 404: errorResponse },
    },
  }, async (req) => {
    const clientId = clientIdOf(req);
    const c = await getCampaign(pool, clientId, req.params.id);
    if (!c) throw notFound('campaign');
    return { clientId, campaignId: c.id, ...(await report(pool, { clientId, campaignId: c.id }, rates)) };
  });

  r.get('/v1/clients/:id/cost', {
    config: { auth: 'any' },
    schema: {
      tags: ['costs'],
      params: idParams,
      querystring: clientCostQuery,
      description: "The client's sends accepted by a provider in [from, to) (default: this calendar month, UTC, so far), costed like a campaign's. The operator key, or the client's own key (another client's id is a 404).",
      response: { 200: costReport, 404: errorResponse },
    },
  }, async (req) => {
    const caller = ownerOf(req);
    if (caller !== null && caller !== req.params.id) throw notFound('client');
    const client = await getClient(pool, req.params.id);
    if (!client) throw notFound('client');
    const to = req.query.to ? new Date(req.query.to) : new Date();
    const from = req.query.from ? new Date(req.query.from) : monthStart(to);
    if (from.getTime() >= to.getTime()) throw badRequest('from must be before to', [{ path: 'query.to', message: 'must be after from' }]);
    const scope = { clientId: client.id, from, to };
    return { clientId: client.id, from: from.toISOString(), to: to.toISOString(), ...(await report(pool, scope, rates)) };
  });
}
