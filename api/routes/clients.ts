import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { notFound } from '../../core/errors';
import { clientCreated, createClientBody, keyCreated } from '../../core/schemas/clients';
import { idParams } from '../../core/schemas/common';
import { addClientKey, createClient } from '../../db/repositories/clients';
import type { AppDeps } from '../deps';

export function clientRoutes(app: FastifyInstance, { pool }: AppDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/v1/clients', {
    config: { auth: 'operator' },
    schema: { tags: ['operator'], body: createClientBody, response: { 201: clientCreated } },
  }, async (req, reply) => {
    const c = await createClient(pool, req.body);
    req.log.info({ clientId: c.id }, 'client created');
    return reply.status(201).send({ id: c.id, apiKey: c.apiKey });
  });

  r.post('/v1/clients/:id/keys', {
    config: { auth: 'operator' },
    schema: { tags: ['operator'], params: idParams, response: { 201: keyCreated } },
  }, async (req, reply) => {
    const k = await addClientKey(pool, req.params.id);
    if (!k) throw notFound('client');
    return reply.status(201).send({ id: k.keyId, apiKey: k.apiKey });
  });
}
