import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { payloadCodecFrom, payloadFromJson, payloadToJson, PayloadDecryptError } from '../../core/codec';
import { hashApiKey, safeEqual } from '../../core/crypto';
import { AppError, unprocessable } from '../../core/errors';
import { createCodecSession, isCodecSessionActive, revokeAllCodecSessions, revokeCodecSession } from '../../db/repositories/codec-sessions';
import type { AppDeps } from '../deps';

/**
 * The codec server the Temporal Web UI (and `temporal --codec-endpoint`)
 * calls to show encrypted payloads in clear to people allowed to see them:
 * POST /codec/decode and /codec/encode, `{payloads: [{metadata, data}]}` in
 * and out (base64, as the UI sends them).
 *
 * Operator only: `Authorization: Bearer <ADMIN_API_KEY>`, or the session
 * cookie set by signing in at /codec/login (the UI cannot send a bearer key,
 * but sends cookies when TEMPORAL_CODEC_INCLUDE_CREDENTIALS is on). CORS
 * answers only the origins in CODEC_CORS_ORIGINS.
 *
 * A sign-in is a server-side session (table codec_sessions, migration 015):
 * the cookie holds a random 256-bit token, the table its SHA-256, and the
 * session lasts CODEC_SESSION_SECONDS unless logout or the operator
 * (DELETE /codec/sessions) ends it first. The cookie is `Secure` when
 * PUBLIC_BASE_URL is https, whatever a request's X-Forwarded-Proto says.
 */
export const CODEC_COOKIE = 'outreach_codec';

// Temporal's clients serialize Payloads with protojson, which leaves out an empty list: the CLI
// posts `{}` for an Update or signal with no arguments. A missing list is an empty one.
const payloadsBody = z.object({
  payloads: z.array(z.object({ metadata: z.record(z.string(), z.string()).optional(), data: z.string().optional() })).max(10_000).default([]),
});

const loginPage = (lifetime: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Outreach engine: codec sign-in</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}input,button{font-size:1rem;padding:.4rem}</style></head>
<body><h1>Decode payloads in the Temporal Web UI</h1>
<p>Sign in with the operator key; this browser can then decode the engine's encrypted Temporal payloads for ${lifetime}.</p>
<form id="f"><input id="k" type="password" autocomplete="off" placeholder="operator key" required size="40"> <button>Sign in</button></form>
<p id="m" role="status"></p>
<script>
document.getElementById('f').addEventListener('submit', async (e) => {
  e.preventDefault();
  const r = await fetch('login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: document.getElementById('k').value }) });
  document.getElementById('m').textContent = r.ok ? 'Signed in: the Web UI decodes payloads now.' : 'That is not the operator key.';
});
</script></body></html>`;

/** 43200 → "12 hours", 90 → "90 seconds". */
function duration(seconds: number): string {
  const [n, unit] = seconds % 3600 === 0 ? [seconds / 3600, 'hour'] : seconds % 60 === 0 ? [seconds / 60, 'minute'] : [seconds, 'second'];
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

function cookieValue(header: string | undefined, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return null;
}

export function codecRoutes(app: FastifyInstance, { config, pool }: AppDeps): void {
  const codec = payloadCodecFrom(config);
  const origins = new Set(config.CODEC_CORS_ORIGINS);
  const adminKey = config.ADMIN_API_KEY;
  const lifetime = config.CODEC_SESSION_SECONDS;
  const page = loginPage(duration(lifetime));
  // From the configured public URL only: a client can say anything in X-Forwarded-Proto.
  const secure = config.PUBLIC_BASE_URL !== undefined && new URL(config.PUBLIC_BASE_URL).protocol === 'https:';
  const cookieAttributes = `HttpOnly; SameSite=Lax; Path=/codec${secure ? '; Secure' : ''}`;
  const r = app.withTypeProvider<ZodTypeProvider>();

  const isOperatorBearer = (req: FastifyRequest) => {
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    return !!(bearer && adminKey && safeEqual(bearer, adminKey));
  };
  const sessionTokenOf = (req: FastifyRequest) => {
    const token = cookieValue(req.headers.cookie, CODEC_COOKIE);
    return token && /^[A-Za-z0-9_-]{1,200}$/.test(token) ? token : null;
  };

  const cors = async (req: FastifyRequest, reply: FastifyReply) => {
    const origin = req.headers.origin;
    if (origin && origins.has(origin)) {
      reply.header('access-control-allow-origin', origin).header('access-control-allow-credentials', 'true').header('vary', 'Origin');
    }
  };
  const authorize = async (req: FastifyRequest) => {
    if (isOperatorBearer(req)) return;
    const token = sessionTokenOf(req);
    // Sessions exist only while an operator key is configured.
    if (adminKey && token && (await isCodecSessionActive(pool, hashApiKey(token)))) return;
    throw new AppError(401, 'unauthorized', 'the codec endpoint needs the operator key (or a sign-in at /codec/login)');
  };

  for (const op of ['encode', 'decode'] as const) {
    r.options(`/codec/${op}`, { config: { auth: 'public' }, schema: { hide: true }, onRequest: cors }, async (_req, reply) =>
      reply
        .header('access-control-allow-methods', 'POST, OPTIONS')
        .header('access-control-allow-headers', 'authorization, content-type, x-namespace')
        .header('access-control-max-age', '600')
        .status(204)
        .send(),
    );
    r.post(`/codec/${op}`, {
      config: { auth: 'public' },
      bodyLimit: 32 * 1024 * 1024,
      schema: { hide: true, body: payloadsBody },
      onRequest: [cors, authorize],
    }, async (req) => {
      const payloads = req.body.payloads.map(payloadFromJson);
      if (!codec) return { payloads: payloads.map(payloadToJson) }; // no payload key: payloads are plain already
      try {
        const out = op === 'decode' ? await codec.decode(payloads) : await codec.encode(payloads);
        return { payloads: out.map(payloadToJson) };
      } catch (err) {
        if (err instanceof PayloadDecryptError) throw unprocessable(err.message);
        throw err;
      }
    });
  }

  r.get('/codec/login', { config: { auth: 'public' }, schema: { hide: true } }, async (_req, reply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(page),
  );
  r.post('/codec/login', {
    config: { auth: 'public', signIn: true },
    schema: { hide: true, body: z.object({ key: z.string().min(1).max(500) }) },
  }, async (req, reply) => {
    if (!adminKey || !safeEqual(req.body.key, adminKey)) throw new AppError(401, 'unauthorized', 'not the operator key');
    const token = randomBytes(32).toString('base64url');
    await createCodecSession(pool, hashApiKey(token), lifetime);
    return reply
      .header('cache-control', 'no-store')
      .header('set-cookie', `${CODEC_COOKIE}=${token}; ${cookieAttributes}; Max-Age=${lifetime}`)
      .send({ status: 'signed_in', expiresInSeconds: lifetime });
  });
  // Ends this browser's session for good (the cookie alone is not enough: the row is revoked).
  r.post('/codec/logout', { config: { auth: 'public' }, schema: { hide: true } }, async (req, reply) => {
    const token = sessionTokenOf(req);
    if (token) await revokeCodecSession(pool, hashApiKey(token));
    return reply.header('set-cookie', `${CODEC_COOKIE}=; ${cookieAttributes}; Max-Age=0`).send({ status: 'signed_out' });
  });
  // The operator ends every codec session at once (e.g. after a laptop is lost, or with a key rotation).
  r.delete('/codec/sessions', { config: { auth: 'public' }, schema: { hide: true } }, async (req) => {
    if (!isOperatorBearer(req)) throw new AppError(401, 'unauthorized', 'revoking codec sessions needs the operator key as a bearer token');
    return { revoked: await revokeAllCodecSessions(pool) };
  });
}
