import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { hashEmail, privacyHashKey } from '../../core/privacy';
import { email } from '../../core/schemas/common';
import { withTransaction } from '../../db/pool';
import { eraseAddress, exportAddress, logPrivacyRequest } from '../../db/repositories/privacy';
import type { AppDeps } from '../deps';
import { ownerOf } from '../plugins/auth';

const body = z.strictObject({ email: email.describe('the person’s address (compared lower-cased)') });
const rows = z.array(z.record(z.string(), z.unknown()));
const erasureCounts = z.object({
  leads: z.number().int(), sends: z.number().int(), events: z.number().int(), replies: z.number().int(),
  suppressions: z.number().int(), suppressionRemovals: z.number().int(), previews: z.number().int(),
});

const actorOf = (req: FastifyRequest) => (req.principal?.kind === 'client' ? `key:${req.principal.keyId}` : 'operator');

/**
 * GDPR/CCPA requests about one person (README "Privacy"). A client key acts
 * on its own client's data only; the operator key on every client's. Each
 * request is logged in privacy_requests (who, when, what counts) with the
 * address only as its keyed hash.
 */
export function privacyRoutes(app: FastifyInstance, { pool, config }: AppDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const key = privacyHashKey(config);
  const keyOrFail = () => {
    if (!key) throw new Error('no privacy hash key: set PRIVACY_HASH_KEY or CREDENTIALS_KEY');
    return key;
  };

  r.post('/v1/privacy/erase', {
    config: { auth: 'any' },
    schema: {
      tags: ['privacy'],
      body,
      description:
        "Erases the person's data in one transaction: leads (address and vars), their sends' error texts and tracked links, " +
        'provider event payloads, replies, rendered previews, clear suppressions. The address stays unmailable as a keyed hash (imports and sends refuse it). ' +
        "A client key: that client's data; the operator key: every client's, and the address is unmailable for every client.",
      response: { 200: z.object({ erased: z.literal(true), requestId: z.string(), counts: erasureCounts }) },
    },
  }, async (req) => {
    const scope = ownerOf(req);
    const emailHash = hashEmail(keyOrFail(), req.body.email);
    const actor = actorOf(req);
    const { counts, requestId } = await withTransaction(pool, async (tx) => {
      const counts = await eraseAddress(tx, scope, req.body.email, emailHash);
      const requestId = await logPrivacyRequest(tx, { kind: 'erase', scope, actor, emailHash, counts: { ...counts } });
      return { counts, requestId };
    });
    // The address stays out of the log: privacy_requests holds its hash.
    req.log.info({ privacyRequestId: requestId, clientId: scope, actor, counts }, 'privacy erase');
    return { erased: true as const, requestId, counts };
  });

  r.post('/v1/privacy/export', {
    config: { auth: 'any' },
    schema: {
      tags: ['privacy'],
      body,
      description:
        'Everything held about the address, as JSON: leads, sends, provider events, opens and clicks, replies, suppressions and their removals, rendered previews, ' +
        "and erasures (an erased address is held only as a hash). A client key sees its own client's data; the operator key every client's.",
      response: {
        200: z.object({
          email: z.string(), requestId: z.string(), exportedAt: z.string(),
          leads: rows, sends: rows, events: rows, engagements: rows, replies: rows, suppressions: rows, suppressionRemovals: rows, previews: rows, erasures: rows,
        }),
      },
    },
  }, async (req) => {
    const scope = ownerOf(req);
    const emailHash = hashEmail(keyOrFail(), req.body.email);
    const actor = actorOf(req);
    const { data, requestId } = await withTransaction(pool, async (tx) => {
      const data = await exportAddress(tx, scope, req.body.email, emailHash);
      const counts = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v.length]));
      const requestId = await logPrivacyRequest(tx, { kind: 'export', scope, actor, emailHash, counts });
      return { data, requestId };
    });
    req.log.info({ privacyRequestId: requestId, clientId: scope, actor }, 'privacy export');
    return { email: req.body.email, requestId, exportedAt: new Date().toISOString(), ...data };
  });
}
