import type { Pool } from 'pg';
import { hashApiKey, newApiKey } from '../../core/crypto';
import { uuidv7 } from '../../core/ids';
import { withTransaction } from '../pool';
import { keyPrefix, toApiKeyRecord, type ApiKeyRecord } from './api-keys';

export interface NewKeyOptions {
  expiresAt?: Date;
  label?: string;
}

export async function createClient(
  pool: Pool,
  input: { name: string; timezone?: string; physicalAddress?: string; trackingDomain?: string },
): Promise<{ id: string; apiKey: string; keyId: string }> {
  return withTransaction(pool, async (tx) => {
    const id = uuidv7();
    await tx.query('INSERT INTO clients (id, name, timezone, physical_address, tracking_domain) VALUES ($1, $2, $3, $4, $5)', [
      id,
      input.name,
      input.timezone ?? 'UTC',
      input.physicalAddress ?? null,
      input.trackingDomain ?? null,
    ]);
    const { apiKey, keyId } = await insertKey(tx, id);
    return { id, apiKey, keyId };
  });
}

/** Stores a new key hashed; the key itself is in the answer only (shown once). */
async function insertKey(
  q: Pick<Pool, 'query'>,
  clientId: string,
  opts: NewKeyOptions = {},
): Promise<{ apiKey: string; keyId: string; record: ApiKeyRecord }> {
  const apiKey = newApiKey();
  const keyId = uuidv7();
  const { rows } = await q.query(
    `INSERT INTO api_keys (id, client_id, key_hash, key_prefix, expires_at, label) VALUES ($1, $2, $3, $4, $5, $6)
     RETURNING id, client_id, key_prefix, label, created_at, expires_at, revoked_at, last_used_at`,
    [keyId, clientId, hashApiKey(apiKey), keyPrefix(apiKey), opts.expiresAt ?? null, opts.label ?? null],
  );
  return { apiKey, keyId, record: toApiKeyRecord(rows[0]) };
}

export async function addClientKey(
  pool: Pool,
  clientId: string,
  opts: NewKeyOptions = {},
): Promise<{ apiKey: string; keyId: string; record: ApiKeyRecord } | null> {
  return withTransaction(pool, async (tx) => {
    const { rowCount } = await tx.query('SELECT 1 FROM clients WHERE id = $1 FOR UPDATE', [clientId]);
    if (!rowCount) return null;
    return insertKey(tx, clientId, opts);
  });
}

export interface ClientRow {
  id: string;
  name: string;
  timezone: string;
  physical_address: string | null;
  /** Where its open pixels and click links point (a CNAME to the API); null: PUBLIC_BASE_URL. */
  tracking_domain: string | null;
}

export async function getClient(pool: Pool, id: string): Promise<ClientRow | null> {
  const { rows } = await pool.query<ClientRow>(
    'SELECT id, name, timezone, physical_address, tracking_domain FROM clients WHERE id = $1',
    [id],
  );
  return rows[0] ?? null;
}

/** Sets (or with null clears) the tracking domain; undefined leaves it. Null when there is no such client. */
export async function updateClient(pool: Pool, id: string, patch: { trackingDomain?: string | null }): Promise<ClientRow | null> {
  const { rows } = await pool.query<ClientRow>(
    `UPDATE clients SET tracking_domain = CASE WHEN $2 THEN $3 ELSE tracking_domain END WHERE id = $1
     RETURNING id, name, timezone, physical_address, tracking_domain`,
    [id, patch.trackingDomain !== undefined, patch.trackingDomain ?? null],
  );
  return rows[0] ?? null;
}
