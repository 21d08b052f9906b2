import type { FastifyInstance, RouteOptions } from 'fastify';
import { z } from 'zod';
import { errorResponse } from '../../core/schemas/common';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Error statuses this route's handler answers beyond those its shape implies (e.g. 409 for a state conflict). */
    errors?: readonly number[];
    /** The route takes a missing body as an empty one: its OpenAPI requestBody is not required. */
    bodyOptional?: boolean;
  }
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'invalid request: `error.details` names each field',
  401: 'missing, invalid, revoked or expired key',
  403: 'this key may not call this route',
  404: 'no such resource for this key (or no such route for it)',
  409: 'the resource is in a state that refuses this change',
  413: 'body larger than this route accepts',
  415: 'content type not accepted here',
  422: 'understood but not processable',
  429: 'too many requests: wait for Retry-After seconds',
  500: 'internal error (reported, never caused by input)',
  503: 'a dependency (PostgreSQL or Temporal) is unavailable',
};

type Schema = { hide?: boolean; body?: unknown; querystring?: unknown; params?: unknown; response?: Record<string | number, unknown> };

/**
 * The error statuses a route can answer, from its declared audience and its
 * shape: every error a caller can meet is in the OpenAPI document with the
 * API.md error schema (checked by schemathesis in test/security).
 */
export function errorStatuses(route: Pick<RouteOptions, 'config'> & { schema?: Schema }): number[] {
  const codes = new Set<number>([500]);
  const schema = route.schema ?? {};
  const audience = route.config?.auth; // every route declares one (api/plugins/auth.ts refuses to start otherwise)
  if (audience && audience !== 'public' && audience !== 'webhook') codes.add(401).add(429);
  if (audience === 'operator') codes.add(404); // a client key on an operator route: as if it did not exist
  if (audience === 'client') codes.add(403); // the operator key on a client's own route
  if (schema.body || schema.querystring || schema.params) codes.add(400);
  if (schema.params) codes.add(404);
  if (schema.body) codes.add(413).add(415);
  for (const c of route.config?.errors ?? []) codes.add(c);
  return [...codes].sort((a, b) => a - b);
}

/** `METHOD /openapi/{path}` of the routes that declare bodyOptional, for markOptionalBodies. */
export type OptionalBodies = Set<string>;

const openapiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

/** @fastify/swagger marks every requestBody required; the routes that take none say so here (its transformObject). */
export function markOptionalBodies<T>(doc: T, optional: OptionalBodies): T {
  const paths = (doc as { paths?: Record<string, Record<string, { requestBody?: { required?: boolean } }>> }).paths ?? {};
  for (const key of optional) {
    const [method, path] = key.split(' ') as [string, string];
    const body = paths[path]?.[method.toLowerCase()]?.requestBody;
    if (body) body.required = false;
  }
  return doc;
}

/** Adds the error responses to every documented route as it is registered (call before any route). */
export function registerErrorResponses(app: FastifyInstance, optionalBodies: OptionalBodies = new Set()): void {
  app.addHook('onRoute', (route) => {
    const schema = (route.schema ?? {}) as Schema;
    if (schema.hide) return;
    if (route.config?.bodyOptional) for (const m of [route.method].flat()) optionalBodies.add(`${m.toUpperCase()} ${openapiPath(route.url)}`);
    const response = { ...(schema.response ?? {}) };
    // A route that names no success body yet still documents that it succeeds (its body is in API.md).
    if (!Object.keys(response).some((k) => /^2/.test(k))) response['2xx'] = z.unknown().describe('success: the body API.md describes for this route');
    for (const code of errorStatuses({ config: route.config, schema })) {
      if (!(code in response)) response[code] = errorResponse.describe(DESCRIPTIONS[code] ?? 'error');
    }
    route.schema = { ...schema, response } as RouteOptions['schema'];
  });
}
