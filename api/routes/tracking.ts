import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { parseCidrs, prefetchReason, type PrefetchRules } from '../../core/tracking/prefetch';
import { readTrackingToken, trackingKey, type TrackingClaims } from '../../core/tracking/token';
import { recordEngagement, trackedSend } from '../../db/repositories/engagements';
import type { AppDeps } from '../deps';

/** A transparent 1x1 GIF (42 bytes). */
export const PIXEL_GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/** `/t/o/*`, not `/t/o/:token`, like /u/*: no 414 from Fastify's maxParamLength whatever a client sends. */
const tokenParams = z.strictObject({ '*': z.string().min(1).max(200) });

const NOT_VALID = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex"><title>Link not valid</title></head>
<body><h1>Link not valid</h1><p>This link is not valid.</p></body></html>`;

/**
 * Open pixels and click redirects (README "Opens and clicks"), public and
 * hidden from the OpenAPI document like /u/*. A token is signed and names
 * the client, the send and (a click) the link's index: the send is looked up
 * with that client only, so a token of client A never reads or records on
 * client B's rows, and a click goes only to the link the send stored under
 * that index, never to a URL the request names. Each request costs two
 * statements by primary key, and its work is linear in the token's length
 * (at most 200 characters). Requests from machines (Apple Mail Privacy
 * Protection, security scanners, requests within seconds of the send) are
 * recorded as prefetches (core/tracking/prefetch.ts).
 */
export function trackingRoutes(app: FastifyInstance, { pool, config }: AppDeps): void {
  const key = config.CREDENTIALS_KEY ? trackingKey(config.CREDENTIALS_KEY) : null;
  const parsed = parseCidrs(config.TRACKING_PREFETCH_CIDRS);
  if ('bad' in parsed) throw new Error(`TRACKING_PREFETCH_CIDRS: ${parsed.bad} is not an address or CIDR`); // config.ts refuses it first
  const rules: PrefetchRules = { windowMs: config.TRACKING_PREFETCH_SECONDS * 1000, ranges: parsed.ranges };

  const noStore = (reply: FastifyReply) =>
    reply.header('cache-control', 'no-store, no-cache, must-revalidate, max-age=0').header('pragma', 'no-cache').header('expires', '0');

  /** Records the hit on the token's send (only if it is the token's client's); the send, or null when there is none. */
  async function hit(req: FastifyRequest, claims: TrackingClaims | null) {
    if (!claims) return null;
    const linkIndex = claims.kind === 'click' ? claims.linkIndex : null;
    const send = await trackedSend(pool, claims.clientId, claims.sendId, linkIndex);
    if (!send || (claims.kind === 'click' && !send.url)) return null;
    const prefetch = prefetchReason(
      { method: req.method, userAgent: req.headers['user-agent'], ip: req.ip, at: new Date(), sentAt: send.sentAt },
      rules,
    );
    const first = await recordEngagement(pool, {
      sendId: claims.sendId, clientId: claims.clientId, campaignId: send.campaignId, step: send.step,
      kind: claims.kind, linkIndex: linkIndex ?? -1, prefetch,
    });
    if (first) {
      req.log.info({ clientId: claims.clientId, campaignId: send.campaignId, sendId: claims.sendId, kind: claims.kind, linkIndex, prefetch }, 'tracking: first hit');
    }
    return send;
  }

  void app.register(async (plain) => {
    const scope = plain.withTypeProvider<ZodTypeProvider>();

    scope.get('/t/o/*', { config: { auth: 'public', errors: [404] }, schema: { hide: true, params: tokenParams } }, async (req, reply) => {
      const send = await hit(req, key ? readTrackingToken(key, req.params['*'], 'open') : null);
      noStore(reply);
      if (!send) return reply.status(404).header('content-type', 'text/plain; charset=utf-8').send('not found');
      return reply.status(200).header('content-type', 'image/gif').send(PIXEL_GIF);
    });

    scope.get('/t/c/*', { config: { auth: 'public', errors: [404] }, schema: { hide: true, params: tokenParams } }, async (req, reply) => {
      const send = await hit(req, key ? readTrackingToken(key, req.params['*'], 'click') : null);
      noStore(reply).header('referrer-policy', 'no-referrer');
      if (!send?.url) return reply.status(404).header('content-type', 'text/html; charset=utf-8').send(NOT_VALID);
      return reply.redirect(send.url, 302);
    });
  });
}
