import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { conflict } from '../../core/errors';
import { createProviderBody, providerView } from '../../core/schemas/providers';
import { createProviderAccount, listProviderAccounts, type ProviderAccountRow } from '../../db/repositories/providers';
import type { AppDeps } from '../deps';

const view = (p: ProviderAccountRow) => ({
  id: p.id,
  name: p.name,
  kind: p.kind,
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

  r.get('/v1/providers', {
    config: { auth: 'operator' },
    schema: { tags: ['operator'], response: { 200: z.object({ items: z.array(providerView) }) } },
  }, async () => ({ items: (await listProviderAccounts(pool)).map(view) }));
}
