import fastifyRateLimit, { type RateLimitOptions } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../core/config';
import { hashApiKey } from '../../core/crypto';
import { AppError } from '../../core/errors';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A sign-in route (POST /codec/login): every attempt counts against RATE_LIMIT_SIGN_IN_PER_IP. */
    signIn?: boolean;
  }
}

export interface RateLimitPluginOptions {
  config: Pick<
    Config,
    'RATE_LIMIT_WINDOW_SECONDS' | 'RATE_LIMIT_PER_IP' | 'RATE_LIMIT_PER_KEY' | 'RATE_LIMIT_SIGN_IN_PER_IP' | 'RATE_LIMIT_AUTH_FAILURES_PER_IP'
  >;
  /** Cookies that carry a sign-in session (presenting one is an authentication attempt). */
  sessionCookies: string[];
}

const bearerOf = (req: FastifyRequest) => /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];

function hasCookie(req: FastifyRequest, names: string[]): boolean {
  const header = req.headers.cookie;
  if (!header) return false;
  return header.split(';').some((part) => names.includes(part.slice(0, part.indexOf('=')).trim()));
}

/**
 * Rate limits, with @fastify/rate-limit's in-memory store (one per API
 * process; README "Rate limits" says what that means for several replicas).
 * Register before registerAuth: the per-address checks run in an onRequest
 * hook added before the auth hook, so a flood is refused before any key is
 * looked up in the database.
 *
 * - every request, per client address: RATE_LIMIT_PER_IP;
 * - every sign-in attempt (routes with `config.signIn`), per address: RATE_LIMIT_SIGN_IN_PER_IP;
 * - failed authentication: an attempt (a bearer key, a session cookie, a
 *   sign-in) answered 401 counts against its address; past
 *   RATE_LIMIT_AUTH_FAILURES_PER_IP, every further attempt from it is a 429,
 *   the right key included, until the window has passed;
 * - per API key, once authenticated (before the body is read): RATE_LIMIT_PER_KEY.
 *
 * All count over RATE_LIMIT_WINDOW_SECONDS. A refusal is a 429 in the API.md
 * error format with Retry-After (seconds).
 */
export async function registerRateLimits(app: FastifyInstance, opts: RateLimitPluginOptions): Promise<void> {
  const { config } = opts;
  const timeWindow = config.RATE_LIMIT_WINDOW_SECONDS * 1000;
  await app.register(fastifyRateLimit, { global: false, timeWindow });
  const limiter = (max: number, extra: Pick<RateLimitOptions, 'keyGenerator'> = {}) => {
    const options: RateLimitOptions = { max, timeWindow, cache: 20_000, ...extra };
    return app.createRateLimit(options);
  };
  const perIp = limiter(config.RATE_LIMIT_PER_IP);
  const signIns = limiter(config.RATE_LIMIT_SIGN_IN_PER_IP);
  const failures = limiter(config.RATE_LIMIT_AUTH_FAILURES_PER_IP);
  const perKey = limiter(config.RATE_LIMIT_PER_KEY, { keyGenerator: (req) => `key:${hashApiKey(bearerOf(req) ?? '')}` });

  const isAuthAttempt = (req: FastifyRequest) =>
    req.headers.authorization !== undefined || hasCookie(req, opts.sessionCookies) || req.routeOptions.config?.signIn === true;

  const refuse = (reply: FastifyReply, ttlMs: number, what: string): never => {
    const seconds = Math.max(1, Math.ceil(ttlMs / 1000));
    reply.header('retry-after', String(seconds));
    throw new AppError(429, 'rate_limited', `${what}; retry in ${seconds} s`);
  };

  app.addHook('onRequest', async (req, reply) => {
    const ip = await perIp(req);
    if (!ip.isAllowed && ip.isExceeded) refuse(reply, ip.ttl, 'too many requests from this address');
    if (req.routeOptions.config?.signIn === true) {
      const attempts = await signIns(req);
      if (!attempts.isAllowed && attempts.isExceeded) refuse(reply, attempts.ttl, 'too many sign-in attempts from this address');
    }
    if (isAuthAttempt(req)) {
      const failed = await failures(req, { increment: false });
      if (!failed.isAllowed && failed.remaining === 0 && failed.ttl > 0) {
        refuse(reply, failed.ttl, 'too many failed authentication attempts from this address');
      }
    }
  });

  // A failed attempt counts once its 401 has gone out (a refused one is a 429 and does not count).
  app.addHook('onResponse', async (req, reply) => {
    if (reply.statusCode === 401 && isAuthAttempt(req)) await failures(req);
  });

  // After the auth hook has accepted the key, before the body is read.
  app.addHook('preParsing', async (req, reply) => {
    if (req.principal == null || bearerOf(req) === undefined) return;
    const used = await perKey(req);
    if (!used.isAllowed && used.isExceeded) refuse(reply, used.ttl, 'too many requests with this API key');
  });
}
