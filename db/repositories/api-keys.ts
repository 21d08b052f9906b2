import type { Pool } from 'pg';
import { hashApiKey, safeEqual } from '../../core/crypto';

/** The characters of a key kept in clear (`oe_` and 7 more): shown in lists, used to find the row. */
export const KEY_PREFIX_LENGTH = 10;
export const keyPrefix = (apiKey: string) => apiKey.slice(0, KEY_PREFIX_LENGTH);

export interface ApiKeyRecord {
  id: string;
  clientId: string;
  prefix: string;
  label: string | null;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

interface ApiKeyRow {
  id: string;
  client_id: string;
  key_prefix: string;
  label: string | null;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

const COLUMNS = 'id, client_id, key_prefix, label, created_at, expires_at, revoked_at, last_used_at';

export const toApiKeyRecord = (r: ApiKeyRow): ApiKeyRecord => ({
  id: r.id,
  clientId: r.client_id,
  prefix: r.key_prefix,
  label: r.label,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  lastUsedAt: r.last_used_at,
});

/** How often last_used_at is written for one key: a write per minute, not per request. */
const LAST_USED_EVERY = "interval '1 minute'";

/**
 * The live key this bearer token is, if any: not revoked, not expired (by the
 * database's clock, read on every request: nothing is cached). Rows are found
 * by prefix and the hashes compared in constant time.
 */
export async function findLiveKey(pool: Pool, apiKey: string): Promise<{ id: string; clientId: string } | null> {
  if (apiKey.length <= KEY_PREFIX_LENGTH) return null;
  const { rows } = await pool.query<{ id: string; client_id: string; key_hash: string; stale: boolean }>(
    `SELECT id, client_id, key_hash, (last_used_at IS NULL OR last_used_at < now() - ${LAST_USED_EVERY}) AS stale
     FROM api_keys
     WHERE key_prefix = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`,
    [keyPrefix(apiKey)],
  );
  const hash = hashApiKey(apiKey);
  let match: (typeof rows)[number] | undefined;
  for (const row of rows) if (safeEqual(row.key_hash, hash) && !match) match = row;
  if (!match) return null;
  if (match.stale) {
    await pool.query(
      `UPDATE api_keys SET last_used_at = now() WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - ${LAST_USED_EVERY})`,
      [match.id],
    );
  }
  return { id: match.id, clientId: match.client_id };
}

/** A client's keys, oldest first; null when there is no such client. */
export async function listClientKeys(pool: Pool, clientId: string): Promise<ApiKeyRecord[] | null> {
  const client = await pool.query('SELECT 1 FROM clients WHERE id = $1', [clientId]);
  if (!client.rowCount) return null;
  const { rows } = await pool.query<ApiKeyRow>(`SELECT ${COLUMNS} FROM api_keys WHERE client_id = $1 ORDER BY created_at, id`, [clientId]);
  return rows.map(toApiKeyRecord);
}

/** Revokes one of a client's keys (a key already revoked keeps its time); null when it is not that client's. */
export async function revokeClientKey(pool: Pool, clientId: string, keyId: string): Promise<ApiKeyRecord | null> {
  const { rows } = await pool.query<ApiKeyRow>(
    `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 AND client_id = $2 RETURNING ${COLUMNS}`,
    [keyId, clientId],
  );
  return rows[0] ? toApiKeyRecord(rows[0]) : null;
}
