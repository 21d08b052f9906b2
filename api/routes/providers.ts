import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { conflict, notFound } from '../../core/errors';
import { idParams } from '../../core/schemas/common';
import { createProviderBody, providerView, updateProviderBody } from '../../core/schemas/providers';
import { createProviderAccount, listProviderAccounts, updateProviderPricing, type ProviderAccountRow } from '../../db/repositories/providers';
import type { AppDeps } from '../deps';

const view = (p: ProviderAccountRow) => ({
  id: p.id,
  name: p.name,
  kind: p.kind,
  pricing: p.pricing,
  createdAt: p.created_at.toISOString(),
});

export function providerRoutes(app: FastifyInstance, { pool, box }: AppDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/v1/providers', {
    config: { auth: 'operator', errors: [409] },
    schema: { tags: ['operator'], body: createProviderBody, response: { 201: providerView } },
  }, async (req, reply) => {
    try {
      const p = await createProviderAccount(pool, box, req.body);
      req.log.info({ providerId: p.id, kind: p.kind }, 'provider account created');
      return reply.status(201).send(view(p));
    } catch (err) {
      if ((err as { code?: string }).code === '23505') {
        throw conflict('a provider account with this name exists', [{ path: 'name', message: 'already exists' }]);
      }
      throw err;
    }
  });

  r.patch('/v1/providers/:id', {
    config: { auth: 'operator' },
    schema: {
      tags: ['operator'],
      params: idParams,
      body: updateProviderBody,
      description: 'Changes what the account charges (null: not priced). Sends recorded from then on are costed at it; earlier sends keep their cost.',
      response: { 200: providerView },
    },
  }, async (req) => {
    const p = await updateProviderPricing(pool, req.params.id, req.body.pricing);
    if (!p) throw notFound('provider account');
    req.log.info({ providerId: p.id, pricing: p.pricing?.kind ?? null }, 'provider pricing changed');
    return view(p);
  });

  r.get('/v1/providers', {
    config: { auth: 'operator' },
    schema: { tags: ['operator'], response: { 200: z.object({ items: z.array(providerView) }) } },
  }, async () => ({ items: (await listProviderAccounts(pool)).map(view) }));
}
