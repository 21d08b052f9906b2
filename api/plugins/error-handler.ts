import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type ErrorDetail } from '../../core/errors';

interface ValidationItem {
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
}

function toDetails(items: ValidationItem[], context: string | undefined): ErrorDetail[] {
  const prefix = context && context !== 'body' ? context.replace('querystring', 'query') : '';
  const join = (parts: string[]) => parts.filter((p) => p !== '').join('.');
  const details: ErrorDetail[] = [];
  for (const item of items) {
    const base = (item.instancePath ?? '').split('/').filter(Boolean);
    const keys = item.params?.keys;
    if (Array.isArray(keys) && keys.length > 0) {
      // Unknown fields: name each one.
      for (const key of keys) details.push({ path: join([prefix, ...base, String(key)]), message: 'unknown field' });
    } else {
      details.push({ path: join([prefix, ...base]) || prefix || '(body)', message: item.message ?? 'invalid' });
    }
  }
  return details;
}

/** Where the error came from, mapped to the API.md error format. Never a 500 for bad input. */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError & { validation?: ValidationItem[]; validationContext?: string }, req, reply) => {
    // No route matched, but Fastify refused the body first (e.g. QUERY without a content type): answer as for no route.
    if (req.is404) return noRoute(req, reply);
    if (err instanceof AppError) {
      return reply.status(err.statusCode).send({
        error: { code: err.code, message: err.message, ...(err.details.length ? { details: err.details } : {}) },
      });
    }
    if (err.validation) {
      const details = toDetails(err.validation, err.validationContext);
      return reply.status(400).send({
        error: { code: 'validation_failed', message: `invalid ${err.validationContext ?? 'request'}`, details },
      });
    }
    switch (err.code) {
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
        return reply.status(400).send({ error: { code: 'invalid_json', message: 'body is not valid JSON' } });
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return reply.status(400).send({ error: { code: 'invalid_json', message: 'body is empty' } });
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return reply.status(413).send({ error: { code: 'payload_too_large', message: 'body is larger than this route accepts' } });
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return reply.status(415).send({ error: { code: 'unsupported_media_type', message: 'content type not accepted here' } });
    }
    if (err instanceof SyntaxError) {
      return reply.status(400).send({ error: { code: 'invalid_json', message: 'body is not valid JSON' } });
    }
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return reply.status(status).send({
        error: { code: (err.code ?? 'bad_request').toLowerCase(), message: err.message },
      });
    }
    req.log.error({ err }, 'unhandled error');
    return reply.status(500).send({ error: { code: 'internal_error', message: 'internal error' } });
  });

  // Every route's path and methods, to answer 405 (with Allow) for a known path called with a method it does not take.
  const routes: { pattern: RegExp; methods: Set<string> }[] = [];
  const byUrl = new Map<string, Set<string>>();
  app.addHook('onRoute', (route) => {
    let methods = byUrl.get(route.url);
    if (!methods) {
      methods = new Set();
      byUrl.set(route.url, methods);
      routes.push({ pattern: routePattern(route.url), methods });
    }
    for (const m of [route.method].flat()) methods.add(m.toUpperCase());
  });

  const noRoute = (req: FastifyRequest, reply: FastifyReply) => {
    const path = req.url.split('?')[0]!;
    const allowed = new Set<string>();
    for (const r of routes) if (r.pattern.test(path)) for (const m of r.methods) allowed.add(m);
    if (allowed.size > 0 && !allowed.has(req.method)) {
      return reply
        .status(405)
        .header('allow', [...allowed].sort().join(', '))
        .send({ error: { code: 'method_not_allowed', message: `${req.method} is not allowed on ${path}; allowed: ${[...allowed].sort().join(', ')}` } });
    }
    return reply.status(404).send({ error: { code: 'not_found', message: `no route ${req.method} ${path}` } });
  };
  app.setNotFoundHandler(noRoute);
}

/** A route url (`/v1/campaigns/:id`, `/u/*`) as an anchored pattern over a request path; linear, no backtracking between segments. */
function routePattern(url: string): RegExp {
  const escape = (s: string) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  const source = url
    .split('/')
    .map((seg) => (seg === '*' ? '.*' : seg.startsWith(':') ? '[^/]+' : escape(seg)))
    .join('/');
  return new RegExp(`^${source}/?$`);
}

/**
 * Errors the router raises before any route runs (a malformed URL, a path
 * parameter past the length limit): a 400 in the API.md format, not
 * Fastify's own body.
 */
export function frameworkErrors(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  const message = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path parameter is longer than this API accepts' : 'the request path is not a valid URL';
  void reply.status(400).send({ error: { code: 'invalid_path', message, details: [{ path: 'path', message }] } });
}
