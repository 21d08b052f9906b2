import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { notFound } from '../../core/errors';
import { jsonLeadsBody, leadEmail } from '../../core/schemas/campaigns';
import { idParams } from '../../core/schemas/common';
import { getCampaign } from '../../db/repositories/campaigns';
import { insertLeads } from '../../db/repositories/leads';
import type { AppDeps } from '../deps';
import { clientIdOf } from '../plugins/auth';

/** Lead uploads for a campaign: JSON today. */
export function leadRoutes(app: FastifyInstance, { pool }: AppDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/v1/campaigns/:id/leads', {
    bodyLimit: 32 * 1024 * 1024,
    schema: { tags: ['campaigns'], params: idParams, body: jsonLeadsBody },
  }, async (req) => {
    const clientId = clientIdOf(req);
    const c = await getCampaign(pool, clientId, req.params.id);
    if (!c) throw notFound('campaign');
    const invalid: { row: number; message: string }[] = [];
    const good: { email: string; vars: Record<string, unknown> }[] = [];
    const seen = new Set<string>();
    let duplicates = 0;
    req.body.leads.forEach((l, i) => {
      const e = leadEmail.safeParse(l.email);
      if (!e.success) invalid.push({ row: i, message: `leads.${i}.email: must be a valid email address` });
      else if (seen.has(e.data)) duplicates++;
      else {
        seen.add(e.data);
        good.push({ email: e.data, vars: l.vars ?? {} });
      }
    });
    const result = await insertLeads(pool, clientId, c.id, good);
    return { ...result, duplicates: result.duplicates + duplicates, invalid };
  });

}
