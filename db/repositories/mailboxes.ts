import type { Pool, PoolClient } from 'pg';
import { uuidv7 } from '../../core/ids';
import type { PauseView } from '../../workflows/policy/types';
import { MAILBOX_DOMAIN_USABLE } from './domains';

export interface MailboxRecord {
  id: string;
  clientId: string | null;
  address: string;
  displayName: string | null;
  pool: string;
  providerIds: string[];
  providers: string[];
  timezone: string;
  window: { days: string[]; start: string; end: string };
  limits: { dailyMax: number; hourlyMax: number; minIntervalSeconds: number; jitterRatio: number };
  warmup: { startPerDay: number; increasePerDay: number; maxPerDay: number; startedOn: string } | null;
  status: 'active' | 'paused' | 'disabled';
  /** Why it may not send, as its workflow last wrote them. */
  pauses: PauseView[];
  createdAt: Date;
}

export type NewMailbox = Omit<MailboxRecord, 'id' | 'providers' | 'status' | 'pauses' | 'createdAt'> & {
  /** IMAP settings, the password already sealed (db/repositories/mailbox-imap.ts sealImapSettings), written in the same statement. */
  imap?: { host: string; port: number; tls: boolean; username: string; password_encrypted: string } | null;
};

const SELECT = `
  SELECT m.id, m.client_id, m.address, m.display_name, m.pool, m.provider_ids, m.timezone,
         m.send_window, m.limits, m.warmup, m.status, m.pause_reasons, m.created_at,
         ARRAY(SELECT p.name FROM unnest(m.provider_ids) WITH ORDINALITY AS u(pid, ord)
               JOIN provider_accounts p ON p.id = u.pid ORDER BY u.ord) AS provider_names
  FROM mailboxes m`;

interface Row {
  id: string;
  client_id: string | null;
  address: string;
  display_name: string | null;
  pool: string;
  provider_ids: string[];
  provider_names: string[];
  timezone: string;
  send_window: MailboxRecord['window'];
  limits: MailboxRecord['limits'];
  warmup: MailboxRecord['warmup'];
  status: MailboxRecord['status'];
  pause_reasons: PauseView[];
  created_at: Date;
}

function toRecord(r: Row): MailboxRecord {
  return {
    id: r.id,
    clientId: r.client_id,
    address: r.address,
    displayName: r.display_name,
    pool: r.pool,
    providerIds: r.provider_ids,
    providers: r.provider_names,
    timezone: r.timezone,
    window: r.send_window,
    limits: r.limits,
    warmup: r.warmup,
    status: r.status,
    pauses: r.pause_reasons,
    createdAt: r.created_at,
  };
}

/** Addresses (lower-cased) among `addresses` that already exist. */
export async function existingAddresses(pool: Pool, addresses: string[]): Promise<Set<string>> {
  const { rows } = await pool.query<{ a: string }>(
    'SELECT lower(address) AS a FROM mailboxes WHERE lower(address) = ANY($1::text[])',
    [addresses],
  );
  return new Set(rows.map((r) => r.a));
}

/**
 * Inserts all rows in one statement; a row whose address appeared meanwhile
 * is skipped (ON CONFLICT) and returned in `conflicts`.
 */
export async function insertMailboxes(
  pool: Pool,
  rows: NewMailbox[],
): Promise<{ inserted: MailboxRecord[]; conflicts: string[] }> {
  if (rows.length === 0) return { inserted: [], conflicts: [] };
  const ids = rows.map(() => uuidv7());
  const { rows: out } = await pool.query<{ id: string; address: string }>(
    `WITH u AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS u(id uuid, client_id uuid, address text, display_name text, pool text,
                 provider_ids jsonb, timezone text, send_window jsonb, limits jsonb, warmup jsonb, imap jsonb)),
          ins AS (
            INSERT INTO mailboxes (id, client_id, address, display_name, pool, provider_ids, timezone, send_window, limits, warmup)
            SELECT u.id, u.client_id, u.address, u.display_name, u.pool,
                   ARRAY(SELECT jsonb_array_elements_text(u.provider_ids))::uuid[], u.timezone, u.send_window, u.limits, u.warmup
            FROM u
            ON CONFLICT DO NOTHING
            RETURNING id, address),
          imap AS (
            INSERT INTO mailbox_imap (mailbox_id, host, port, tls, username, password_encrypted)
            SELECT ins.id, u.imap->>'host', (u.imap->>'port')::int, (u.imap->>'tls')::boolean, u.imap->>'username', u.imap->>'password_encrypted'
            FROM ins JOIN u ON u.id = ins.id WHERE u.imap IS NOT NULL AND jsonb_typeof(u.imap) = 'object')
     SELECT id, address FROM ins`,
    [
      JSON.stringify(
        rows.map((r, i) => ({
          id: ids[i],
          client_id: r.clientId,
          address: r.address,
          display_name: r.displayName,
          pool: r.pool,
          provider_ids: r.providerIds,
          timezone: r.timezone,
          send_window: r.window,
          limits: r.limits,
          warmup: r.warmup,
          imap: r.imap ?? null,
        })),
      ),
    ],
  );
  const insertedIds = new Set(out.map((r) => r.id));
  const inserted: MailboxRecord[] = [];
  const conflicts: string[] = [];
  rows.forEach((r, i) => {
    if (insertedIds.has(ids[i]!)) {
      const { imap: _sealed, ...record } = r;
      inserted.push({ ...record, id: ids[i]!, providers: [], status: 'active', pauses: [], createdAt: new Date() });
    } else conflicts.push(r.address);
  });
  return { inserted, conflicts };
}

/** A mailbox of this owner: a client's own, or with owner null (the operator) an agency mailbox. Never another owner's. */
export async function getMailbox(pool: Pool, owner: string | null, id: string): Promise<MailboxRecord | null> {
  const { rows } = await pool.query<Row>(`${SELECT} WHERE m.id = $1 AND m.client_id IS NOT DISTINCT FROM $2::uuid`, [id, owner]);
  return rows[0] ? toRecord(rows[0]) : null;
}

export async function getMailboxById(pool: Pool, id: string): Promise<MailboxRecord | null> {
  const { rows } = await pool.query<Row>(`${SELECT} WHERE m.id = $1`, [id]);
  return rows[0] ? toRecord(rows[0]) : null;
}

export async function listMailboxes(
  pool: Pool,
  /** A client's own mailboxes, or with null (the operator) the agency's. */
  owner: string | null,
  filter: { pool?: string; status?: string; afterId?: string; limit: number },
): Promise<MailboxRecord[]> {
  const { rows } = await pool.query<Row>(
    `${SELECT}
     WHERE m.client_id IS NOT DISTINCT FROM $1::uuid
       AND ($2::text IS NULL OR m.pool = $2)
       AND ($3::text IS NULL OR m.status = $3)
       AND ($4::uuid IS NULL OR m.id > $4)
     ORDER BY m.id
     LIMIT $5`,
    [owner, filter.pool ?? null, filter.status ?? null, filter.afterId ?? null, filter.limit],
  );
  return rows.map(toRecord);
}

/** Mailboxes a campaign of this client may use: its own, selected by pool or ids, whose sending domain is usable. */
export async function selectCampaignMailboxes(
  pool: Pool,
  clientId: string,
  selector: { pool?: string; ids?: string[] },
): Promise<MailboxRecord[]> {
  const { rows } = await pool.query<Row>(
    `${SELECT}
     WHERE (m.client_id = $1 OR m.client_id IS NULL)
       AND ($2::text IS NULL OR m.pool = $2)
       AND ($3::uuid[] IS NULL OR m.id = ANY($3::uuid[]))
       AND m.status <> 'disabled'
       AND ${MAILBOX_DOMAIN_USABLE}
     ORDER BY m.id`,
    [clientId, selector.pool ?? null, selector.ids ?? null],
  );
  return rows.map(toRecord);
}

/**
 * The mailbox workflow's status and pause reasons, as it writes them
 * (activities/mailbox.activity.ts). A disabled mailbox stays disabled.
 * Runs recorded before pause reasons write the status alone.
 */
export async function setMailboxStatus(pool: Pool, id: string, status: 'active' | 'paused', pauses?: PauseView[]): Promise<void> {
  await pool.query(
    `UPDATE mailboxes SET status = CASE WHEN status = 'disabled' THEN status ELSE $2 END,
                          pause_reasons = coalesce($3::jsonb, pause_reasons)
     WHERE id = $1`,
    [id, status, pauses === undefined ? null : JSON.stringify(pauses)],
  );
}

/** The settings a PATCH changes, locked for the length of the caller's transaction. */
export async function lockMailbox(db: Pool | PoolClient, id: string): Promise<void> {
  await db.query('SELECT 1 FROM mailboxes WHERE id = $1 FOR UPDATE', [id]);
}

export async function updateMailboxSettings(
  db: Pool | PoolClient,
  id: string,
  m: Pick<MailboxRecord, 'displayName' | 'pool' | 'providerIds' | 'timezone' | 'window' | 'limits' | 'warmup'>,
): Promise<void> {
  await db.query(
    `UPDATE mailboxes SET display_name = $2, pool = $3, provider_ids = $4::uuid[], timezone = $5,
            send_window = $6::jsonb, limits = $7::jsonb, warmup = $8::jsonb
     WHERE id = $1`,
    [id, m.displayName, m.pool, m.providerIds, m.timezone, JSON.stringify(m.window), JSON.stringify(m.limits), m.warmup === null ? null : JSON.stringify(m.warmup)],
  );
}

/** Removes rows whose workflow could not be started, so an import is never half written. */
export async function deleteMailboxes(pool: Pool, ids: string[]): Promise<void> {
  if (ids.length) await pool.query('DELETE FROM mailboxes WHERE id = ANY($1::uuid[])', [ids]);
}
