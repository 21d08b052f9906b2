import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import type { Pool } from 'pg';
import { safeEqual } from '../../core/crypto';
import { AppError } from '../../core/errors';
import { findLiveKey } from '../../db/repositories/api-keys';

export type Principal = { kind: 'operator' } | { kind: 'client'; clientId: string; keyId: string };

/**
 * Who may call a route. Every route declares one (`config: { auth }`); a
 * route without one stops start-up.
 * - `operator`: the operator key (ADMIN_API_KEY); a client key gets 404, as if the route did not exist.
 * - `client`: a client key; the operator key gets 403.
 * - `any`: a client key, or the operator key acting for the agency or any client.
 * - `webhook`: a provider webhook; the route checks the provider's signature over the raw body.
 * - `public`: anyone (health, docs, unsubscribe links; the codec and metrics routes guard themselves in their own onRequest hook).
 */
export const AUDIENCES = ['operator', 'client', 'any', 'webhook', 'public'] as const;
export type AuthLevel = (typeof AUDIENCES)[number];

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    auth?: AuthLevel;
  }
}

const isAudience = (v: unknown): v is AuthLevel => (AUDIENCES as readonly unknown[]).includes(v);

/** One registered route, as the router has it (HEAD routes Fastify adds for GETs included). */
export interface RouteEntry {
  method: string;
  url: string;
  auth: AuthLevel | undefined;
}

/**
 * Method and URL as onRoute saw them (Fastify reuses the options object for a
 * prefix's '' and '/' variants, so its url changes after the hook), and the
 * options themselves: a later onRoute hook in a plugin's scope may still set
 * their config.
 */
interface SeenRoute {
  methods: string[];
  url: string;
  options: RouteOptions;
}

const tables = new WeakMap<FastifyInstance, SeenRoute[]>();

/** Every route registered on the app (after registerAuth), with its declared audience. */
export function routeTable(app: FastifyInstance): RouteEntry[] {
  return (tables.get(app) ?? []).flatMap((r) => r.methods.map((method) => ({ method, url: r.url, auth: r.options.config?.auth })));
}

/**
 * Gives every route a third-party plugin registers in this scope (e.g. the
 * Swagger UI, whose routes take no config) the audience `audience`, unless a
 * route declares its own. Call it in the plugin's wrapping scope only.
 */
export function declareScopeAudience(scope: FastifyInstance, audience: AuthLevel): void {
  scope.addHook('onRoute', (route) => {
    route.config = { ...route.config, auth: route.config?.auth ?? audience };
  });
}

const unauthorized = () => new AppError(401, 'unauthorized', 'missing or invalid API key');
export const noRoute = (req: FastifyRequest) => new AppError(404, 'not_found', `no route ${req.method} ${req.url.split('?')[0]}`);

/**
 * Bearer keys by route, never by URL text: the audience is the one the
 * matched route declares, so however a path is spelled (`/%761/…` is
 * `/v1/…` to the router) it meets its route's check. The check runs in the
 * first onRequest hook, before the body is read or parsed: a request without
 * a valid key never reaches validation. A request that matches no route is a
 * 404, with or without a key, and its body is not read either.
 *
 * Client keys are looked up on every request (no cache): a revoked or expired
 * key is a 401 on its next request.
 */
export function registerAuth(app: FastifyInstance, opts: { pool: Pool; adminApiKey?: string }): void {
  app.decorateRequest('principal', null);
  const routes: SeenRoute[] = [];
  tables.set(app, routes);
  app.addHook('onRoute', (route) => {
    routes.push({ methods: ([] as string[]).concat(route.method), url: route.url, options: route });
  });
  // Checked once every plugin has registered its routes (a scope may declare its plugin's audience after this hook saw them).
  app.addHook('onReady', async () => {
    const undeclared = routeTable(app).filter((r) => !isAudience(r.auth));
    if (undeclared.length > 0) {
      const list = undeclared.map((r) => `${r.method} ${r.url}${r.auth === undefined ? '' : ` (auth: ${String(r.auth)})`}`).join(', ');
      throw new Error(`every route must declare its audience, config.auth: one of ${AUDIENCES.join(', ')}; these do not: ${list}`);
    }
  });

  app.addHook('onRequest', async (req: FastifyRequest) => {
    if (req.is404) throw noRoute(req);
    const level = req.routeOptions.config?.auth;
    if (level === 'public' || level === 'webhook') return;
    if (!isAudience(level)) throw unauthorized(); // cannot pass start-up; refuse rather than guess
    const header = req.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) throw unauthorized();
    const key = match[1]!;
    if (opts.adminApiKey && safeEqual(key, opts.adminApiKey)) {
      req.principal = { kind: 'operator' };
    } else {
      const live = await findLiveKey(opts.pool, key);
      if (!live) throw unauthorized();
      req.principal = { kind: 'client', clientId: live.clientId, keyId: live.id };
    }
    if (level === 'operator' && req.principal.kind !== 'operator') throw noRoute(req);
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
