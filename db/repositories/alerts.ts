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
