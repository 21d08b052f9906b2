import type { Pool } from 'pg';
import type { SecretBox } from '../../core/crypto';
import { uuidv7 } from '../../core/ids';
import type { Pricing } from '../../core/schemas/pricing';
import type { CreateProviderBody, ProviderConfig, ProviderKind } from '../../core/schemas/providers';

export interface ProviderAccountRow {
  id: string;
  name: string;
  kind: ProviderKind;
  /** What the account charges (null: not priced). */
  pricing: Pricing | null;
  created_at: Date;
}

export interface ProviderAccount extends ProviderAccountRow {
  config: ProviderConfig;
}

const COLUMNS = 'id, name, kind, pricing, created_at';

export async function createProviderAccount(pool: Pool, box: SecretBox, input: CreateProviderBody): Promise<ProviderAccountRow> {
  const { rows } = await pool.query<ProviderAccountRow>(
    `INSERT INTO provider_accounts (id, name, kind, config_encrypted, pricing) VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
    [uuidv7(), input.name, input.kind, box.seal(input.config), input.pricing ? JSON.stringify(input.pricing) : null],
  );
  return rows[0]!;
}

/** Sets (or, with null, clears) an account's pricing; sends recorded from then on are costed at it. Null: no such account. */
export async function updateProviderPricing(pool: Pool, id: string, pricing: Pricing | null): Promise<ProviderAccountRow | null> {
  const { rows } = await pool.query<ProviderAccountRow>(
    `UPDATE provider_accounts SET pricing = $2 WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, pricing ? JSON.stringify(pricing) : null],
  );
  return rows[0] ?? null;
}

export async function listProviderAccounts(pool: Pool): Promise<ProviderAccountRow[]> {
  return (await pool.query<ProviderAccountRow>(`SELECT ${COLUMNS} FROM provider_accounts ORDER BY id`)).rows;
}

export async function providerIdsByName(pool: Pool, names: string[]): Promise<Map<string, string>> {
  const { rows } = await pool.query<{ id: string; name: string }>(
    'SELECT id, name FROM provider_accounts WHERE name = ANY($1::text[])',
    [names],
  );
  return new Map(rows.map((r) => [r.name, r.id]));
}

/** Decrypts credentials; only the worker's provider registry calls this. */
export async function loadProviderAccount(pool: Pool, box: SecretBox, id: string): Promise<ProviderAccount | null> {
  const { rows } = await pool.query<ProviderAccountRow & { config_encrypted: string }>(
    `SELECT ${COLUMNS}, config_encrypted FROM provider_accounts WHERE id = $1`,
    [id],
  );
  const row = rows[0];
  if (!row) return null;
  const { config_encrypted, ...rest } = row;
  return { ...rest, config: box.open<ProviderConfig>(config_encrypted) };
}
