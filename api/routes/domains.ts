import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { checkDomainDns, createResolver, verificationRecord } from '../../core/dns-check';
import { AppError, badRequest, conflict, forbidden, notFound } from '../../core/errors';
import { cursorQuery, idParams, nonBlank } from '../../core/schemas/common';
import { getClient } from '../../db/repositories/clients';
import {
  getDomain,
  insertDomain,
  insertDomainAudit,
  listDomains,
  returnToRotation,
  storeDnsVerdict,
  type DomainRecord,
} from '../../db/repositories/domains';
import { withTransaction } from '../../db/pool';
import { rotationHistory } from '../../db/repositories/reputation';
import type { AppDeps } from '../deps';
import { actorOf, overrideDomainProof, proveDomainControl, type DomainOwnershipDeps } from '../../services/domain-ownership';
import { ownerOf } from '../plugins/auth';

const hostname = z
  .string()
  .trim()
  .toLowerCase()
  .max(253)
  .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'must be a domain name, e.g. mail.example.com');

/** SES's rule for configuration set names. */
const configurationSetName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be an SES configuration set name (letters, digits, _ and -, up to 64)');

const createDomainBody = z.strictObject({
  domain: hostname,
  /** The DKIM selector the check reads (<selector>._domainkey.<domain>). */
  dkimSelector: z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_-]{1,63})*$/, 'must be a DNS label, e.g. s1').optional(),
  /** Operator only: the SES configuration set (dedicated IP pool) for this domain's mail. */
  configurationSet: configurationSetName.optional(),
  /** Operator only: SES configuration sets the daily rotation moves this domain's mail through, in order. */
  configurationSets: z.array(configurationSetName).max(32)
    .refine((sets) => new Set(sets).size === sets.length, 'must not repeat a configuration set')
    .meta({ uniqueItems: true }).optional(),
  /** Operator only: the client owning the domain (unset = an agency domain). */
  clientId: z.uuid().optional(),
});

export const domainView = (d: DomainRecord) => ({
  id: d.id,
  clientId: d.clientId,
  domain: d.domain,
  dkimSelector: d.dkimSelector,
  configurationSet: d.configurationSet,
  configurationSets: d.configurationSets,
  inRotation: d.inRotation,
  rotationReason: d.rotationReason,
  /** Whether the owner's mailboxes at this domain may send: verified, in rotation and not failing its DNS check. */
  usable: d.verification === 'verified' && d.inRotation && d.dnsStatus !== 'fail',
  /** Proof of control: publish `record` and call POST /v1/domains/:id/verify. */
  verification: {
    status: d.verification,
    method: d.verificationMethod,
    verifiedAt: d.verifiedAt ? d.verifiedAt.toISOString() : null,
    record: verificationRecord(d.domain, d.verificationToken),
  },
  dns: {
    status: d.dnsStatus,
    checkedAt: d.dnsCheckedAt ? d.dnsCheckedAt.toISOString() : null,
    spf: d.dnsVerdict?.spf ?? null,
    dkim: d.dnsVerdict?.dkim ?? null,
    dmarc: d.dnsVerdict?.dmarc ?? null,
  },
  createdAt: d.createdAt.toISOString(),
});

const overrideBody = z.strictObject({
  /** Why the operator vouches for this owner without a DNS proof (kept in domain_audit and the log). */
  reason: nonBlank(500),
});

/**
 * Sending domains. A client sees and checks its own claims; the operator sees
 * all (and creates agency claims, or a client's with clientId). A claim is
 * usable only once its owner proved control (verify) or the operator
 * overrode the proof (override); see services/domain-ownership.ts.
 */
export function domainRoutes(app: FastifyInstance, { pool, config, temporal }: AppDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const ownership = (log: DomainOwnershipDeps['log']): DomainOwnershipDeps => ({ pool, temporal, log, alertWebhookUrl: config.ALERT_WEBHOOK_URL });

  // A field only the operator may set is a 403 naming it (a matter of the key, not of the input); an unknown clientId a 404 naming it.
  r.post('/v1/domains', { config: { auth: 'any', errors: [403, 404, 409] }, schema: { tags: ['domains'], body: createDomainBody } }, async (req, reply) => {
    const caller = ownerOf(req);
    if (caller !== null && req.body.clientId !== undefined && req.body.clientId !== caller) {
      throw forbidden('clientId is for the operator key only', [{ path: 'clientId', message: 'a client key creates its own domains' }]);
    }
    const clientId = caller ?? req.body.clientId ?? null;
    if (clientId !== null && caller === null && !(await getClient(pool, clientId))) {
      throw notFound('client', [{ path: 'clientId', message: 'no client with this id' }]);
    }
    // Configuration sets are the agency's dedicated IP pools (shared SES accounts): a client key may not pick one.
    for (const field of ['configurationSet', 'configurationSets'] as const) {
      if (caller !== null && req.body[field] !== undefined) {
        throw forbidden(`${field} is for the operator key only`, [{ path: field, message: 'configuration sets are set by the operator' }]);
      }
    }
    const sets = req.body.configurationSets ?? [];
    if (req.body.configurationSet !== undefined && sets.length > 0 && !sets.includes(req.body.configurationSet)) {
      throw badRequest('configurationSet must be one of configurationSets', [{ path: 'configurationSet', message: 'not in configurationSets' }]);
    }
    const d = await withTransaction(pool, async (tx) => {
      const claim = await insertDomain(tx, {
        clientId,
        domain: req.body.domain,
        dkimSelector: req.body.dkimSelector ?? null,
        // The set in use: the one given, else the rotation's first.
        configurationSet: req.body.configurationSet ?? sets[0] ?? null,
        configurationSets: sets,
      });
      if (claim) await insertDomainAudit(tx, { domainId: claim.id, domain: claim.domain, clientId, action: 'registered', actor: actorOf(caller) });
      return claim;
    });
    if (!d) throw conflict('domain already registered', [{ path: 'domain', message: 'you have already registered this domain' }]);
    req.log.info({ clientId, domainId: d.id }, 'sending domain registered');
    return reply.status(201).send(domainView(d));
  });

  r.get('/v1/domains', {
    config: { auth: 'any' },
    schema: { tags: ['domains'], querystring: z.strictObject({ ...cursorQuery, domain: hostname.optional() }) },
  }, async (req) => {
    const afterId = req.query.cursor;
    const rows = await listDomains(pool, ownerOf(req), afterId ?? null, req.query.limit + 1, req.query.domain ?? null);
    const items = rows.slice(0, req.query.limit);
    return {
      items: items.map(domainView),
      nextCursor: rows.length > req.query.limit ? items[items.length - 1]!.id : null,
    };
  });

  r.get('/v1/domains/:id', {
    config: { auth: 'any' },
    schema: {
      tags: ['domains'],
      params: idParams,
      querystring: z.strictObject({
        /** How many of the latest rotation log rows `rotationHistory` holds. */
        historyLimit: z.coerce.number().int().min(1).max(100).default(20),
      }),
      description:
        'The domain, and its rotation history: the latest rotation log rows about it (daily DNS checks, SES configuration-set moves), newest first.',
    },
  }, async (req) => {
    const d = await getDomain(pool, ownerOf(req), req.params.id);
    if (!d) throw notFound('domain');
    const history = await rotationHistory(pool, 'domain', d.id, req.query.historyLimit);
    return {
      ...domainView(d),
      rotationHistory: history.map((h) => ({ id: h.id, at: h.at.toISOString(), action: h.action, runId: h.runId, detail: h.detail })),
    };
  });

  /** Runs the SPF / DKIM / DMARC check now (the daily rotation runs it too) and answers the stored verdict. */
  r.post('/v1/domains/:id/check', { config: { auth: 'any' }, schema: { tags: ['domains'], params: idParams } }, async (req) => {
    const d = await getDomain(pool, ownerOf(req), req.params.id);
    if (!d) throw notFound('domain');
    const verdict = await checkDomainDns(createResolver(config.DNS_SERVER), d.domain, d.dkimSelector);
    await storeDnsVerdict(pool, d.id, verdict);
    req.log.info({ domainId: d.id, overall: verdict.overall }, 'sending domain checked');
    return domainView((await getDomain(pool, null, d.id))!);
  });

  /**
   * Proof of control: looks up the claim's TXT record (`verification.record`)
   * and, on a match, makes this claim the domain's verified one (the latest
   * proof wins; see domain-ownership.ts). 422 naming `verification` otherwise.
   */
  r.post('/v1/domains/:id/verify', { config: { auth: 'any', errors: [422] }, schema: { tags: ['domains'], params: idParams } }, async (req) => {
    const caller = ownerOf(req);
    const d = await getDomain(pool, caller, req.params.id);
    if (!d) throw notFound('domain');
    const result = await proveDomainControl(ownership(req.log), createResolver(config.DNS_SERVER), d, actorOf(caller));
    if ('refused' in result) {
      const { name, value } = verificationRecord(d.domain, d.verificationToken);
      throw new AppError(422, 'domain_not_verified', `no proof of control over ${d.domain}`, [{
        path: 'verification',
        message: result.refused.verdict === 'error'
          ? `the TXT lookup of ${name} failed (${result.refused.detail ?? 'error'}); try again`
          : `publish a TXT record "${value}" at ${name} (${result.refused.detail ?? 'not found'})`,
      }]);
    }
    return domainView((await getDomain(pool, null, d.id))!);
  });

  /** The operator vouches for a claim without a DNS proof; kept in domain_audit with its reason and logged. */
  r.post('/v1/domains/:id/override', { config: { auth: 'operator', errors: [409] }, schema: { tags: ['domains'], params: idParams, body: overrideBody } }, async (req) => {
    const d = await getDomain(pool, null, req.params.id);
    if (!d) throw notFound('domain');
    if (!(await overrideDomainProof(ownership(req.log), d, req.body.reason))) throw conflict('domain is already verified');
    return domainView((await getDomain(pool, null, d.id))!);
  });

  /** Puts a domain the controller took out back in rotation; its rested mailboxes return with the next daily rotation. */
  r.post('/v1/domains/:id/restore', { config: { auth: 'operator', errors: [409] }, schema: { tags: ['domains'], params: idParams } }, async (req) => {
    const d = await getDomain(pool, null, req.params.id);
    if (!d) throw notFound('domain');
    if (!(await returnToRotation(pool, d.id))) throw conflict('domain is already in rotation');
    return domainView((await getDomain(pool, null, d.id))!);
  });
}
