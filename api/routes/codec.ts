import { createHmac } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { payloadCodecFrom, payloadFromJson, payloadToJson, PayloadDecryptError } from '../../core/codec';
import { safeEqual } from '../../core/crypto';
import { AppError, unprocessable } from '../../core/errors';
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
 */
export const CODEC_COOKIE = 'outreach_codec';
const SESSION_SECONDS = 12 * 3600;

const payloadsBody = z.object({
  payloads: z.array(z.object({ metadata: z.record(z.string(), z.string()).optional(), data: z.string().optional() })).max(10_000),
});

const LOGIN_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Outreach engine: codec sign-in</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}input,button{font-size:1rem;padding:.4rem}</style></head>
<body><h1>Decode payloads in the Temporal Web UI</h1>
<p>Sign in with the operator key; this browser can then decode the engine's encrypted Temporal payloads for 12 hours.</p>
<form id="f"><input id="k" type="password" autocomplete="off" placeholder="operator key" required size="40"> <button>Sign in</button></form>
<p id="m" role="status"></p>
<script>
document.getElementById('f').addEventListener('submit', async (e) => {
  e.preventDefault();
  const r = await fetch('login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: document.getElementById('k').value }) });
  document.getElementById('m').textContent = r.ok ? 'Signed in: the Web UI decodes payloads now.' : 'That is not the operator key.';
});
</script></body></html>`;

function cookieValue(header: string | undefined, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return null;
}

export function codecRoutes(app: FastifyInstance, { config }: AppDeps): void {
  const codec = payloadCodecFrom(config);
  const origins = new Set(config.CODEC_CORS_ORIGINS);
  const adminKey = config.ADMIN_API_KEY;
  // The cookie holds a value derived from the operator key, never the key itself.
  const session = adminKey ? createHmac('sha256', adminKey).update('codec-session-v1').digest('base64url') : null;
  const r = app.withTypeProvider<ZodTypeProvider>();

  const cors = async (req: FastifyRequest, reply: FastifyReply) => {
    const origin = req.headers.origin;
    if (origin && origins.has(origin)) {
      reply.header('access-control-allow-origin', origin).header('access-control-allow-credentials', 'true').header('vary', 'Origin');
    }
  };
  const authorize = async (req: FastifyRequest) => {
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const cookie = cookieValue(req.headers.cookie, CODEC_COOKIE);
    const ok = (bearer && adminKey && safeEqual(bearer, adminKey)) || (cookie && session && safeEqual(cookie, session));
    if (!ok) throw new AppError(401, 'unauthorized', 'the codec endpoint needs the operator key (or a sign-in at /codec/login)');
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
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(LOGIN_PAGE),
  );
  r.post('/codec/login', {
    config: { auth: 'public', signIn: true },
    schema: { hide: true, body: z.object({ key: z.string().min(1).max(500) }) },
  }, async (req, reply) => {
    if (!adminKey || !session || !safeEqual(req.body.key, adminKey)) throw new AppError(401, 'unauthorized', 'not the operator key');
    const secure = req.protocol === 'https' ? '; Secure' : '';
    return reply
      .header('set-cookie', `${CODEC_COOKIE}=${session}; HttpOnly; SameSite=Lax; Path=/codec; Max-Age=${SESSION_SECONDS}${secure}`)
      .send({ status: 'signed_in', expiresInSeconds: SESSION_SECONDS });
  });
  r.post('/codec/logout', { config: { auth: 'public' }, schema: { hide: true } }, async (_req, reply) =>
    reply.header('set-cookie', `${CODEC_COOKIE}=; HttpOnly; SameSite=Lax; Path=/codec; Max-Age=0`).send({ status: 'signed_out' }),
  );
}
