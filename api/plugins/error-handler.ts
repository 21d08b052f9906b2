import type { FastifyError, FastifyInstance } from 'fastify';
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

  app.setNotFoundHandler((req, reply) =>
    reply.status(404).send({ error: { code: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` } }),
  );
}
