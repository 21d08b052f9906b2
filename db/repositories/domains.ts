import type { Pool, PoolClient } from 'pg';
import { newVerificationToken, type DomainVerdict } from '../../core/dns-check';
import { uuidv7 } from '../../core/ids';
import { withTransaction } from '../pool';

export type VerificationMethod = 'dns' | 'operator_override' | 'migration';
/** pending: never verified; verified: the domain's one verified owner; superseded: lost it to another claim's proof. */
export type VerificationStatus = 'pending' | 'verified' | 'superseded';

export interface DomainRecord {
  id: string;
  clientId: string | null;
  domain: string;
  dkimSelector: string | null;
  /** The SES configuration set (dedicated IP pool) in use for this domain's mail. */
  configurationSet: string | null;
  /** The sets the daily rotation moves the domain through (empty: it stays on configurationSet). */
  configurationSets: string[];
  inRotation: boolean;
  rotationReason: string | null;
  dnsStatus: 'unchecked' | 'pass' | 'fail';
  dnsVerdict: DomainVerdict | null;
  dnsCheckedAt: Date | null;
  /** The token the owner publishes as `outreach-verification=<token>` at `_outreach.<domain>`. */
  verificationToken: string;
  verification: VerificationStatus;
  verificationMethod: VerificationMethod | null;
  verifiedAt: Date | null;
  createdAt: Date;
}

interface Row {
  id: string;
  client_id: string | null;
  domain: string;
  dkim_selector: string | null;
  configuration_set: string | null;
  configuration_sets: string[];
  in_rotation: boolean;
  rotation_reason: string | null;
  dns_status: DomainRecord['dnsStatus'];
  dns_verdict: DomainVerdict | null;
  dns_checked_at: Date | null;
  verification_token: string;
  verification_method: VerificationMethod | null;
  verified_at: Date | null;
  superseded_at: Date | null;
  created_at: Date;
}

const COLUMNS = `id, client_id, domain, dkim_selector, configuration_set, configuration_sets, in_rotation, rotation_reason,
  dns_status, dns_verdict, dns_checked_at, verification_token, verification_method, verified_at, superseded_at, created_at`;

function toRecord(r: Row): DomainRecord {
  return {
    id: r.id,
    clientId: r.client_id,
    domain: r.domain,
    dkimSelector: r.dkim_selector,
    configurationSet: r.configuration_set,
    configurationSets: r.configuration_sets,
    inRotation: r.in_rotation,
    rotationReason: r.rotation_reason,
    dnsStatus: r.dns_status,
    dnsVerdict: r.dns_verdict,
    dnsCheckedAt: r.dns_checked_at,
    verificationToken: r.verification_token,
    verification: r.verified_at !== null ? 'verified' : r.superseded_at !== null ? 'superseded' : 'pending',
    verificationMethod: r.verification_method,
    verifiedAt: r.verified_at,
    createdAt: r.created_at,
  };
}

/**
 * Inserts an owner's claim on a domain, unverified, with a fresh token; null
 * when this owner (a client, or the agency with clientId null) already claims
 * the name. Other owners' claims on the same name are not touched.
 */
export async function insertDomain(
  pool: Pool | PoolClient,
  d: { clientId: string | null; domain: string; dkimSelector: string | null; configurationSet: string | null; configurationSets?: string[] },
): Promise<DomainRecord | null> {
  const { rows } = await pool.query<Row>(
    `INSERT INTO sending_domains (id, client_id, domain, dkim_selector, configuration_set, configuration_sets, verification_token)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (coalesce(client_id, '00000000-0000-0000-0000-000000000000'::uuid), domain) DO NOTHING RETURNING ${COLUMNS}`,
    [uuidv7(), d.clientId, d.domain.toLowerCase(), d.dkimSelector, d.configurationSet, d.configurationSets ?? [], newVerificationToken()],
  );
  return rows[0] ? toRecord(rows[0]) : null;
}

/** One domain; `clientId` null = the operator (sees every domain). */
export async function getDomain(pool: Pool, clientId: string | null, id: string): Promise<DomainRecord | null> {
  const { rows } = await pool.query<Row>(
    `SELECT ${COLUMNS} FROM sending_domains WHERE id = $1 AND ($2::uuid IS NULL OR client_id = $2)`,
    [id, clientId],
  );
  return rows[0] ? toRecord(rows[0]) : null;
}

/** A page of domains in id order; `clientId` null = all of them (the operator); `domain` filters by name. */
export async function listDomains(
  pool: Pool,
  clientId: string | null,
  afterId: string | null,
  limit: number,
  domain: string | null = null,
): Promise<DomainRecord[]> {
  const { rows } = await pool.query<Row>(
    `SELECT ${COLUMNS} FROM sending_domains
     WHERE ($1::uuid IS NULL OR client_id = $1) AND ($2::uuid IS NULL OR id > $2) AND ($4::text IS NULL OR domain = lower($4))
     ORDER BY id LIMIT $3`,
    [clientId, afterId, limit, domain],
  );
  return rows.map(toRecord);
}

/**
 * The claims the hourly check looks at: verified ones (their DNS verdict
 * judges their owner's mailboxes) and superseded ones (their owner's
 * mailboxes there rest). Pending claims cost no lookup.
 */
export async function domainsToCheck(pool: Pool): Promise<DomainRecord[]> {
  const { rows } = await pool.query<Row>(
    `SELECT ${COLUMNS} FROM sending_domains WHERE verified_at IS NOT NULL OR superseded_at IS NOT NULL ORDER BY id`,
  );
  return rows.map(toRecord);
}

/** Of `domains`, those `owner` (a client, or null for the agency) has verified. */
export async function verifiedDomainsOf(pool: Pool, owner: string | null, domains: string[]): Promise<Set<string>> {
  if (domains.length === 0) return new Set();
  const { rows } = await pool.query<{ domain: string }>(
    `SELECT domain FROM sending_domains
     WHERE client_id IS NOT DISTINCT FROM $1::uuid AND verified_at IS NOT NULL AND domain = ANY($2::text[])`,
    [owner, domains.map((d) => d.toLowerCase())],
  );
  return new Set(rows.map((r) => r.domain));
}

export type DomainAuditAction = 'registered' | 'verified' | 'override' | 'superseded';

/** One domain_audit row: who did what to a claim. `detail` never carries a token or a key. */
export async function insertDomainAudit(
  db: Pool | PoolClient,
  a: { domainId: string; domain: string; clientId: string | null; action: DomainAuditAction; actor: string; detail?: Record<string, unknown> },
): Promise<void> {
  await db.query(
    'INSERT INTO domain_audit (id, domain_id, domain, client_id, action, actor, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)',
    [uuidv7(), a.domainId, a.domain, a.clientId, a.action, a.actor, JSON.stringify(a.detail ?? {})],
  );
}

export interface VerifiedClaim {
  claim: DomainRecord;
  /** The claim that was verified before and is superseded now, if any. */
  previous: DomainRecord | null;
}

/**
 * Makes `id` the domain's verified claim, in one transaction (every claim on
 * the name locked): the claim verified before, if another, is superseded (no
 * longer verified, a fresh token so its old record proves nothing), with a
 * `superseded` audit row, then this one gets its `verified` or `override`
 * audit row. Null when the claim is gone or already verified.
 */
export async function markClaimVerified(
  pool: Pool,
  id: string,
  how: { method: 'dns' | 'operator_override'; actor: string; detail?: Record<string, unknown> },
): Promise<VerifiedClaim | null> {
  return withTransaction(pool, async (tx) => {
    const { rows: [target] } = await tx.query<Row>(`SELECT ${COLUMNS} FROM sending_domains WHERE id = $1`, [id]);
    if (!target) return null;
    const { rows: claims } = await tx.query<Row>(
      `SELECT ${COLUMNS} FROM sending_domains WHERE domain = $1 ORDER BY id FOR UPDATE`,
      [target.domain],
    );
    const me = claims.find((c) => c.id === id);
    if (!me || me.verified_at !== null) return null;
    const before = claims.find((c) => c.verified_at !== null) ?? null;
    if (before) {
      await tx.query(
        `UPDATE sending_domains SET verified_at = NULL, verification_method = NULL, superseded_at = now(), verification_token = $2
         WHERE id = $1`,
        [before.id, newVerificationToken()],
      );
      await insertDomainAudit(tx, {
        domainId: before.id, domain: before.domain, clientId: before.client_id, action: 'superseded', actor: how.actor,
        detail: { by: id, newOwner: me.client_id },
      });
    }
    const { rows: [updated] } = await tx.query<Row>(
      `UPDATE sending_domains SET verified_at = now(), verification_method = $2, superseded_at = NULL WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, how.method],
    );
    await insertDomainAudit(tx, {
      domainId: id, domain: me.domain, clientId: me.client_id, action: how.method === 'dns' ? 'verified' : 'override', actor: how.actor,
      detail: { ...how.detail, previous: before ? { claimId: before.id, clientId: before.client_id } : null },
    });
    const previous = before
      ? toRecord((await tx.query<Row>(`SELECT ${COLUMNS} FROM sending_domains WHERE id = $1`, [before.id])).rows[0]!)
      : null;
    return { claim: toRecord(updated!), previous };
  });
}

export async function storeDnsVerdict(pool: Pool, id: string, verdict: DomainVerdict): Promise<void> {
  await pool.query('UPDATE sending_domains SET dns_status = $2, dns_verdict = $3, dns_checked_at = now() WHERE id = $1', [
    id,
    verdict.overall,
    JSON.stringify(verdict),
  ]);
}

/** Takes a domain out of rotation; returns whether it was in. */
export async function takeOutOfRotation(pool: Pool, id: string, reason: string): Promise<boolean> {
  const { rowCount } = await pool.query(
    'UPDATE sending_domains SET in_rotation = false, rotation_reason = $2 WHERE id = $1 AND in_rotation',
    [id, reason],
  );
  return (rowCount ?? 0) > 0;
}

/** Puts a domain back in rotation (the operator's call); returns whether it was out. */
export async function returnToRotation(pool: Pool, id: string): Promise<boolean> {
  const { rowCount } = await pool.query(
    'UPDATE sending_domains SET in_rotation = true, rotation_reason = NULL WHERE id = $1 AND NOT in_rotation',
    [id],
  );
  return (rowCount ?? 0) > 0;
}

/**
 * SQL condition: mailbox `m`'s own owner's claim on its address's domain
 * stops it from sending. Only the claim of the mailbox's owner (the same
 * client, or the agency for an agency mailbox) counts, never another
 * owner's: a verified claim out of rotation or failing its DNS check, or a
 * claim superseded by another owner's proof. A pending claim, or none (a
 * mailbox imported before domains were verified), does not judge it.
 */
export const MAILBOX_DOMAIN_BLOCKED = `EXISTS (
  SELECT 1 FROM sending_domains sd
  WHERE sd.domain = lower(split_part(m.address, '@', 2)) AND sd.client_id IS NOT DISTINCT FROM m.client_id
    AND ((sd.verified_at IS NOT NULL AND (NOT sd.in_rotation OR sd.dns_status = 'fail'))
      OR (sd.verified_at IS NULL AND sd.superseded_at IS NOT NULL)))`;

/** SQL condition: mailbox `m` may send as far as its domain goes (see MAILBOX_DOMAIN_BLOCKED). */
export const MAILBOX_DOMAIN_USABLE = `NOT ${MAILBOX_DOMAIN_BLOCKED}`;

/**
 * The SES configuration set in use for mail from this address's domain, as
 * set on the mailbox owner's verified claim; null when none is set or there
 * is no such claim.
 */
export async function configurationSetFor(pool: Pool, address: string, owner: string | null): Promise<string | null> {
  const { rows } = await pool.query<{ configuration_set: string | null }>(
    `SELECT configuration_set FROM sending_domains
     WHERE domain = lower(split_part($1, '@', 2)) AND client_id IS NOT DISTINCT FROM $2::uuid AND verified_at IS NOT NULL`,
    [address, owner],
  );
  return rows[0]?.configuration_set ?? null;
}
