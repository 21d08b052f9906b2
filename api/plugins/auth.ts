import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import type { Pool } from 'pg';
import { hashApiKey, safeEqual } from '../../core/crypto';
import { AppError } from '../../core/errors';

export type Principal = { kind: 'operator' } | { kind: 'client'; clientId: string };
/** `any`: a client key, or the operator key acting for the agency (shared resources). */
export type AuthLevel = 'operator' | 'client' | 'any' | 'public';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    auth?: AuthLevel;
  }
}

/** One registered route, as the router has it (HEAD routes Fastify adds for GETs included). */
export interface RouteEntry {
  method: string;
  url: string;
  auth: AuthLevel | undefined;
}

const tables = new WeakMap<FastifyInstance, RouteOptions[]>();

/** Every route registered on the app (after registerAuth), with its declared audience. */
export function routeTable(app: FastifyInstance): RouteEntry[] {
  return (tables.get(app) ?? []).flatMap((r) =>
    (Array.isArray(r.method) ? r.method : [r.method]).map((method) => ({ method, url: r.url, auth: r.config?.auth })),
  );
}

const unauthorized = () => new AppError(401, 'unauthorized', 'missing or invalid API key');

/**
 * Bearer keys on every /v1 route. The operator key (ADMIN_API_KEY) manages
 * clients and providers; a client key sees only its own client. A client key
 * on an operator route answers 404, as if the route did not exist for it.
 */
export function registerAuth(app: FastifyInstance, opts: { pool: Pool; adminApiKey?: string }): void {
  app.decorateRequest('principal', null);
  const routes: RouteOptions[] = [];
  tables.set(app, routes);
  app.addHook('onRoute', (route) => {
    routes.push(route);
  });
  app.addHook('onRequest', async (req: FastifyRequest) => {
    const level: AuthLevel = req.routeOptions.config?.auth ?? (req.url.startsWith('/v1') ? 'client' : 'public');
    if (level === 'public') return;
    const header = req.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) throw unauthorized();
    const key = match[1]!;
    if (opts.adminApiKey && safeEqual(key, opts.adminApiKey)) {
      req.principal = { kind: 'operator' };
    } else {
      const { rows } = await opts.pool.query<{ client_id: string }>(
        'SELECT client_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL',
        [hashApiKey(key)],
      );
      if (rows.length === 0) throw unauthorized();
      req.principal = { kind: 'client', clientId: rows[0]!.client_id };
    }
    if (level === 'operator' && req.principal.kind !== 'operator') {
      throw new AppError(404, 'not_found', `no route ${req.method} ${req.url.split('?')[0]}`);
    }
    if (level === 'client' && req.principal.kind !== 'client') {
      throw new AppError(403, 'forbidden', 'this route needs a client API key');
    }
  });
}

/** On an `any` route: the client's id, or null for the operator (agency-wide resources). */
export function ownerOf(req: FastifyRequest): string | null {
  if (req.principal?.kind === 'operator') return null;
  return clientIdOf(req);
}

/** The calling client's id on a client route. */
export function clientIdOf(req: FastifyRequest): string {
  if (req.principal?.kind !== 'client') throw unauthorized();
  return req.principal.clientId;
}
