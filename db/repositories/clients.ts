import type { Pool } from 'pg';
import { hashApiKey, newApiKey } from '../../core/crypto';
import { uuidv7 } from '../../core/ids';
import { withTransaction } from '../pool';

export async function createClient(
  pool: Pool,
  input: { name: string; timezone?: string; physicalAddress?: string },
): Promise<{ id: string; apiKey: string; keyId: string }> {
  return withTransaction(pool, async (tx) => {
    const id = uuidv7();
    await tx.query('INSERT INTO clients (id, name, timezone, physical_address) VALUES ($1, $2, $3, $4)', [
      id,
      input.name,
      input.timezone ?? 'UTC',
      input.physicalAddress ?? null,
    ]);
    const { apiKey, keyId } = await insertKey(tx, id);
    return { id, apiKey, keyId };
  });
}

async function insertKey(q: Pick<Pool, 'query'>, clientId: string): Promise<{ apiKey: string; keyId: string }> {
  const apiKey = newApiKey();
  const keyId = uuidv7();
  await q.query('INSERT INTO api_keys (id, client_id, key_hash, key_prefix) VALUES ($1, $2, $3, $4)', [
    keyId,
    clientId,
    hashApiKey(apiKey),
    apiKey.slice(0, 10),
  ]);
  return { apiKey, keyId };
}

export async function addClientKey(pool: Pool, clientId: string): Promise<{ apiKey: string; keyId: string } | null> {
  return withTransaction(pool, async (tx) => {
    const { rowCount } = await tx.query('SELECT 1 FROM clients WHERE id = $1 FOR UPDATE', [clientId]);
    if (!rowCount) return null;
    return insertKey(tx, clientId);
  });
}

export async function getClient(pool: Pool, id: string) {
  const { rows } = await pool.query<{ id: string; name: string; timezone: string; physical_address: string | null }>(
    'SELECT id, name, timezone, physical_address FROM clients WHERE id = $1',
    [id],
  );
  return rows[0] ?? null;
}
