import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { badRequest, notFound } from '../../core/errors';
import { clientCreated, clientView, createClientBody, createKeyBody, keyCreated, keyList, keyParams, keyView, updateClientBody } from '../../core/schemas/clients';
import { errorResponse, idParams } from '../../core/schemas/common';
import { listClientKeys, revokeClientKey, type ApiKeyRecord } from '../../db/repositories/api-keys';
import { addClientKey, createClient, updateClient } from '../../db/repositories/clients';
import type { AppDeps } from '../deps';
import { ownerOf } from '../plugins/auth';

const iso = (d: Date | null) => (d ? d.toISOString() : null);
const view = (k: ApiKeyRecord) => ({
  id: k.id,
  prefix: k.prefix,
  label: k.label,
  createdAt: k.createdAt.toISOString(),
  expiresAt: iso(k.expiresAt),
  revokedAt: iso(k.revokedAt),
  lastUsedAt: iso(k.lastUsedAt),
});

/**
 * The client in the path, as the caller may see it: the operator any client,
 * a client key only its own (another client's id is a 404, as if it did not exist).
 */
function clientInPath(req: FastifyRequest, id: string): string {
  const caller = ownerOf(req);
  if (caller !== null && caller !== id) throw notFound('client');
  return id;
}

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

  r.patch('/v1/clients/:id', {
    config: { auth: 'operator' },
    schema: {
      tags: ['operator'],
      params: idParams,
      body: updateClientBody,
      description: "Changes a client's settings: trackingDomain (a CNAME to the API for its open pixels and click links; null: PUBLIC_BASE_URL).",
      response: { 200: clientView, 400: errorResponse, 404: errorResponse },
    },
  }, async (req) => {
    const c = await updateClient(pool, req.params.id, req.body);
    if (!c) throw notFound('client');
    req.log.info({ clientId: c.id }, 'client updated');
    return { id: c.id, name: c.name, timezone: c.timezone, physicalAddress: c.physical_address, trackingDomain: c.tracking_domain };
  });

  // Only the operator makes keys: a leaked client key must not be able to mint ones that outlive its revocation.
  r.post('/v1/clients/:id/keys', {
    config: { auth: 'operator', bodyOptional: true }, // no body: a key with no label and no expiry, as before expiresAt
    schema: {
      tags: ['operator'],
      params: idParams,
      body: createKeyBody,
      description: 'Another key for the client, shown once in this answer (stored hashed). expiresAt: from then on the key is a 401.',
      response: { 201: keyCreated, 400: errorResponse, 404: errorResponse },
    },
  }, async (req, reply) => {
    const expiresAt = req.body?.expiresAt ? new Date(req.body.expiresAt) : undefined;
    if (expiresAt && expiresAt.getTime() <= Date.now()) {
      throw badRequest('expiresAt is in the past', [{ path: 'expiresAt', message: 'must be in the future' }]);
    }
    const k = await addClientKey(pool, req.params.id, { expiresAt, label: req.body?.label });
    if (!k) throw notFound('client');
    req.log.info({ clientId: req.params.id, keyId: k.keyId }, 'api key created');
    const { revokedAt: _r, lastUsedAt: _l, ...fields } = view(k.record);
    return reply.status(201).send({ ...fields, apiKey: k.apiKey });
  });

  r.get('/v1/clients/:id/keys', {
    config: { auth: 'any' },
    schema: {
      tags: ['keys'],
      params: idParams,
      description: "The client's keys, revoked and expired ones included; never a key or its hash. A client key lists its own client's only.",
      response: { 200: keyList, 404: errorResponse },
    },
  }, async (req) => {
    const keys = await listClientKeys(pool, clientInPath(req, req.params.id));
    if (!keys) throw notFound('client');
    return { items: keys.map(view) };
  });

  r.delete('/v1/clients/:id/keys/:keyId', {
    config: { auth: 'any' },
    schema: {
      tags: ['keys'],
      params: keyParams,
      description: 'Revokes the key: its next request is a 401. Revoking a revoked key changes nothing. A client key revokes its own client\'s only.',
      response: { 200: keyView, 404: errorResponse },
    },
  }, async (req) => {
    const k = await revokeClientKey(pool, clientInPath(req, req.params.id), req.params.keyId);
    if (!k) throw notFound('key');
    req.log.info({ clientId: k.clientId, keyId: k.id }, 'api key revoked');
    return view(k);
  });
}
