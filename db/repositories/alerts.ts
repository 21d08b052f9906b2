import type { Pool, PoolClient } from 'pg';
import { uuidv7 } from '../../core/ids';

type Db = Pool | PoolClient;

export interface NewAlert {
  clientId: string | null;
  kind: string;
  subjectType: 'mailbox' | 'domain' | 'provider' | 'campaign';
  subjectId: string;
  message: string;
}

export interface AlertRow extends NewAlert {
  id: string;
  createdAt: Date;
}

export async function insertAlert(db: Db, a: NewAlert): Promise<AlertRow> {
  const { rows } = await db.query<{ id: string; created_at: Date }>(
    `INSERT INTO alerts (id, client_id, kind, subject_type, subject_id, message) VALUES ($1, $2, $3, $4, $5, $6)
     RETURNING id, created_at`,
    [uuidv7(), a.clientId, a.kind, a.subjectType, a.subjectId, a.message],
  );
  return { ...a, id: rows[0]!.id, createdAt: rows[0]!.created_at };
}

export interface StoredAlert extends AlertRow {
  resolvedAt: Date | null;
  /** Who acknowledged it: 'operator' or 'key:<api key id>'. */
  resolvedBy: string | null;
}

const ALERT_COLUMNS = `id, client_id AS "clientId", kind, subject_type AS "subjectType", subject_id AS "subjectId", message,
  created_at AS "createdAt", resolved_at AS "resolvedAt", resolved_by AS "resolvedBy"`;

/**
 * A page of alerts, newest first (by created_at, then id), after the alert `beforeId` in that order:
 * one client's (clientId), or every one (null, the operator; agencyOnly: those of no client).
 */
export async function listAlerts(
  db: Db,
  filter: {
    clientId: string | null;
    agencyOnly?: boolean;
    kind?: string;
    subjectType?: string;
    subjectId?: string;
    state?: 'open' | 'acknowledged';
    beforeId?: string;
    limit: number;
  },
): Promise<StoredAlert[]> {
  const { rows } = await db.query<StoredAlert>(
    `SELECT ${ALERT_COLUMNS} FROM alerts
     WHERE ($1::uuid IS NULL OR client_id = $1) AND (NOT $2::boolean OR client_id IS NULL)
       AND ($3::text IS NULL OR kind = $3) AND ($4::text IS NULL OR subject_type = $4) AND ($5::text IS NULL OR subject_id = $5)
       AND ($6::text IS NULL OR ($6 = 'open') = (resolved_at IS NULL))
       AND ($7::uuid IS NULL OR (created_at, id) < (SELECT created_at, id FROM alerts WHERE id = $7 AND ($1::uuid IS NULL OR client_id = $1)))
     ORDER BY created_at DESC, id DESC LIMIT $8`,
    [filter.clientId, filter.agencyOnly ?? false, filter.kind ?? null, filter.subjectType ?? null, filter.subjectId ?? null,
      filter.state ?? null, filter.beforeId ?? null, filter.limit],
  );
  return rows;
}

/**
 * Acknowledges an alert (resolved_at, resolved_by), once: a second ack keeps
 * the first one's time and author. clientId scopes it (null: the operator,
 * any alert). Null when there is no such alert for this caller.
 */
export async function acknowledgeAlert(db: Db, id: string, clientId: string | null, by: string): Promise<StoredAlert | null> {
  const { rows } = await db.query<StoredAlert>(
    `UPDATE alerts SET resolved_at = coalesce(resolved_at, now()), resolved_by = coalesce(resolved_by, $3)
     WHERE id = $1 AND ($2::uuid IS NULL OR client_id = $2) RETURNING ${ALERT_COLUMNS}`,
    [id, clientId, by],
  );
  return rows[0] ?? null;
}
