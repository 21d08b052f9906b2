import type { Pool } from 'pg';
import type { DomainVerdict } from '../../core/dns-check';
import { uuidv7 } from '../../core/ids';

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
  created_at: Date;
}

const COLUMNS = `id, client_id, domain, dkim_selector, configuration_set, configuration_sets, in_rotation, rotation_reason,
  dns_status, dns_verdict, dns_checked_at, created_at`;

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
    createdAt: r.created_at,
  };
}

/** Inserts a domain; null when the name is taken (domains are unique across clients). */
export async function insertDomain(
  pool: Pool,
  d: { clientId: string | null; domain: string; dkimSelector: string | null; configurationSet: string | null; configurationSets?: string[] },
): Promise<DomainRecord | null> {
  const { rows } = await pool.query<Row>(
    `INSERT INTO sending_domains (id, client_id, domain, dkim_selector, configuration_set, configuration_sets) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (domain) DO NOTHING RETURNING ${COLUMNS}`,
    [uuidv7(), d.clientId, d.domain.toLowerCase(), d.dkimSelector, d.configurationSet, d.configurationSets ?? []],
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

/** A page of domains in id order; `clientId` null = all of them (the operator). */
export async function listDomains(pool: Pool, clientId: string | null, afterId: string | null, limit: number): Promise<DomainRecord[]> {
  const { rows } = await pool.query<Row>(
    `SELECT ${COLUMNS} FROM sending_domains
     WHERE ($1::uuid IS NULL OR client_id = $1) AND ($2::uuid IS NULL OR id > $2)
     ORDER BY id LIMIT $3`,
    [clientId, afterId, limit],
  );
  return rows.map(toRecord);
}

/** Every domain, for the daily check. */
export async function allDomains(pool: Pool): Promise<DomainRecord[]> {
  const { rows } = await pool.query<Row>(`SELECT ${COLUMNS} FROM sending_domains ORDER BY id`);
  return rows.map(toRecord);
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
 * SQL condition: mailbox `m` may send as far as its domain goes. A mailbox
 * whose address's domain is registered must have that domain in rotation and
 * not failing its DNS check; an unregistered domain is not judged.
 */
export const MAILBOX_DOMAIN_USABLE = `NOT EXISTS (
  SELECT 1 FROM sending_domains sd
  WHERE sd.domain = lower(split_part(m.address, '@', 2)) AND (NOT sd.in_rotation OR sd.dns_status = 'fail'))`;

/** The SES configuration set in use for mail from this address's domain; null when none is set or the domain is not registered. */
export async function configurationSetFor(pool: Pool, address: string): Promise<string | null> {
  const { rows } = await pool.query<{ configuration_set: string | null }>(
    "SELECT configuration_set FROM sending_domains WHERE domain = lower(split_part($1, '@', 2))",
    [address],
  );
  return rows[0]?.configuration_set ?? null;
}
