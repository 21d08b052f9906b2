import type { Pool, PoolClient } from 'pg';

type Db = Pool | PoolClient;
export type SuppressionReasonDb = 'unsubscribed' | 'hard_bounce' | 'complaint' | 'manual';

/**
 * Adds an address to a client's suppression list (the first reason stays)
 * and stops every lead of that client still waiting to be mailed at it:
 * they become 'suppressed', which the send step skips and campaigns count.
 * Returns how many leads were stopped.
 */
export async function suppress(db: Db, clientId: string, email: string, reason: SuppressionReasonDb): Promise<{ added: boolean; leadsStopped: number }> {
  const address = email.trim().toLowerCase();
  const ins = await db.query(
    'INSERT INTO suppressions (client_id, email, reason) VALUES ($1, $2, $3) ON CONFLICT (client_id, email) DO NOTHING',
    [clientId, address, reason],
  );
  const upd = await db.query(
    `UPDATE leads SET status = 'suppressed', next_due_at = NULL
     WHERE client_id = $1 AND lower(email) = $2 AND status IN ('pending', 'active', 'held')`,
    [clientId, address],
  );
  return { added: ins.rowCount === 1, leadsStopped: upd.rowCount ?? 0 };
}

/** Many addresses at once (POST /v1/suppressions); returns how many were new. */
export async function suppressMany(db: Db, clientId: string, emails: string[], reason: SuppressionReasonDb): Promise<number> {
  if (emails.length === 0) return 0;
  const addresses = [...new Set(emails.map((e) => e.trim().toLowerCase()))];
  const ins = await db.query(
    `INSERT INTO suppressions (client_id, email, reason) SELECT $1, e, $3 FROM unnest($2::text[]) AS e
     ON CONFLICT (client_id, email) DO NOTHING`,
    [clientId, addresses, reason],
  );
  await db.query(
    `UPDATE leads SET status = 'suppressed', next_due_at = NULL
     WHERE client_id = $1 AND lower(email) = ANY($2::text[]) AND status IN ('pending', 'active', 'held')`,
    [clientId, addresses],
  );
  return ins.rowCount ?? 0;
}

export interface SuppressionRow {
  email: string;
  reason: SuppressionReasonDb;
  createdAt: string;
}

/** A page of a client's suppressions in address order, after `afterEmail`. */
export async function listSuppressions(db: Db, clientId: string, afterEmail: string | null, limit: number): Promise<SuppressionRow[]> {
  const { rows } = await db.query<{ email: string; reason: SuppressionReasonDb; created_at: Date }>(
    `SELECT email, reason, created_at FROM suppressions
     WHERE client_id = $1 AND ($2::text IS NULL OR email > $2) ORDER BY email LIMIT $3`,
    [clientId, afterEmail, limit],
  );
  return rows.map((r) => ({ email: r.email, reason: r.reason, createdAt: r.created_at.toISOString() }));
}

export async function isSuppressed(db: Db, clientId: string, email: string): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM suppressions WHERE client_id = $1 AND email = $2', [clientId, email.trim().toLowerCase()]);
  return (rowCount ?? 0) > 0;
}

/** One suppression of a client, locked until the caller's transaction ends (null: the address is not suppressed). */
export async function lockSuppression(db: PoolClient, clientId: string, email: string): Promise<{ reason: SuppressionReasonDb; createdAt: Date } | null> {
  const { rows } = await db.query<{ reason: SuppressionReasonDb; created_at: Date }>(
    'SELECT reason, created_at FROM suppressions WHERE client_id = $1 AND email = $2 FOR UPDATE',
    [clientId, email.trim().toLowerCase()],
  );
  return rows[0] ? { reason: rows[0].reason, createdAt: rows[0].created_at } : null;
}

/**
 * Removes a suppression and writes who did it to suppression_removals, in the
 * caller's transaction (lock it with lockSuppression first). Leads it
 * already stopped stay stopped; new leads for the address are taken again.
 */
export async function removeSuppression(
  db: PoolClient,
  removal: { id: string; clientId: string; email: string; reason: SuppressionReasonDb; suppressedAt: Date; actor: string; forced: boolean },
): Promise<void> {
  const email = removal.email.trim().toLowerCase();
  await db.query('DELETE FROM suppressions WHERE client_id = $1 AND email = $2', [removal.clientId, email]);
  await db.query(
    `INSERT INTO suppression_removals (id, client_id, email, reason, suppressed_at, actor, forced) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [removal.id, removal.clientId, email, removal.reason, removal.suppressedAt, removal.actor, removal.forced],
  );
}
