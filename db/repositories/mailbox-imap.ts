import type { Pool, PoolClient } from 'pg';
import type { SecretBox } from '../../core/crypto';

type Db = Pool | PoolClient;

export type ImapStatus = 'active' | 'auth_failed';

/** What the API shows of a mailbox's IMAP settings: never the password. */
export interface ImapSettingsView {
  host: string;
  port: number;
  tls: boolean;
  user: string;
  status: ImapStatus;
  lastError: string | null;
  lastSessionAt: Date | null;
}

/** Settings as given on import (the password in clear, sealed before it is written). */
export interface ImapSettingsInput {
  host: string;
  port: number;
  tls: boolean;
  user: string;
  password: string;
}

/** What the watcher's session needs: the password opened, the cursor, and whose mailbox it is. */
export interface ImapAccount {
  mailboxId: string;
  clientId: string | null;
  address: string;
  host: string;
  port: number;
  tls: boolean;
  user: string;
  password: string;
  status: ImapStatus;
  uidValidity: bigint | null;
  lastUid: bigint | null;
  createdAt: Date;
}

/** The row to write for a mailbox's settings, the password sealed (core/crypto.ts). */
export function sealImapSettings(box: SecretBox, s: ImapSettingsInput) {
  return { host: s.host, port: s.port, tls: s.tls, username: s.user, password_encrypted: box.seal(s.password) };
}

/**
 * Sets (or replaces) a mailbox's settings. New credentials make the watcher
 * active again; a new server (host, port or user) starts its cursor afresh.
 */
export async function upsertImapSettings(db: Db, box: SecretBox, mailboxId: string, s: ImapSettingsInput): Promise<void> {
  const row = sealImapSettings(box, s);
  await db.query(
    `INSERT INTO mailbox_imap (mailbox_id, host, port, tls, username, password_encrypted)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (mailbox_id) DO UPDATE SET
       host = EXCLUDED.host, port = EXCLUDED.port, tls = EXCLUDED.tls, username = EXCLUDED.username,
       password_encrypted = EXCLUDED.password_encrypted, status = 'active', last_error = NULL, updated_at = now(),
       uid_validity = CASE WHEN (mailbox_imap.host, mailbox_imap.port, mailbox_imap.username) = (EXCLUDED.host, EXCLUDED.port, EXCLUDED.username)
                           THEN mailbox_imap.uid_validity END,
       last_uid = CASE WHEN (mailbox_imap.host, mailbox_imap.port, mailbox_imap.username) = (EXCLUDED.host, EXCLUDED.port, EXCLUDED.username)
                       THEN mailbox_imap.last_uid END`,
    [mailboxId, row.host, row.port, row.tls, row.username, row.password_encrypted],
  );
}

/** The settings views of these mailboxes (those that have settings). */
export async function imapViews(db: Db, mailboxIds: string[]): Promise<Map<string, ImapSettingsView>> {
  if (mailboxIds.length === 0) return new Map();
  const { rows } = await db.query<ImapSettingsView & { mailboxId: string }>(
    `SELECT mailbox_id AS "mailboxId", host, port, tls, username AS "user", status, last_error AS "lastError",
            last_session_at AS "lastSessionAt"
     FROM mailbox_imap WHERE mailbox_id = ANY($1::uuid[])`,
    [mailboxIds],
  );
  return new Map(rows.map(({ mailboxId, ...v }) => [mailboxId, v]));
}

/** Decrypts the password; only the watcher's activity calls this. */
export async function loadImapAccount(db: Db, box: SecretBox, mailboxId: string): Promise<ImapAccount | null> {
  const { rows } = await db.query<Omit<ImapAccount, 'password' | 'uidValidity' | 'lastUid'> & {
    passwordSealed: string;
    uidValidity: string | null;
    lastUid: string | null;
  }>(
    `SELECT i.mailbox_id AS "mailboxId", m.client_id AS "clientId", m.address, i.host, i.port, i.tls, i.username AS "user",
            i.password_encrypted AS "passwordSealed", i.status, i.uid_validity AS "uidValidity", i.last_uid AS "lastUid",
            i.created_at AS "createdAt"
     FROM mailbox_imap i JOIN mailboxes m ON m.id = i.mailbox_id WHERE i.mailbox_id = $1`,
    [mailboxId],
  );
  const r = rows[0];
  if (!r) return null;
  const { passwordSealed, uidValidity, lastUid, ...rest } = r;
  return {
    ...rest,
    password: box.open<string>(passwordSealed),
    uidValidity: uidValidity === null ? null : BigInt(uidValidity),
    lastUid: lastUid === null ? null : BigInt(lastUid),
  };
}

/** Moves the cursor forward (never back) after a message is ingested; a new UIDVALIDITY resets it. */
export async function advanceImapCursor(db: Db, mailboxId: string, uidValidity: bigint, uid: bigint): Promise<void> {
  await db.query(
    `UPDATE mailbox_imap SET
       last_uid = CASE WHEN uid_validity IS DISTINCT FROM $2::bigint THEN $3::bigint ELSE greatest(coalesce(last_uid, 0), $3::bigint) END,
       uid_validity = $2::bigint, updated_at = now()
     WHERE mailbox_id = $1`,
    [mailboxId, uidValidity.toString(), uid.toString()],
  );
}

/** A session began: the server took the credentials. */
export async function markImapSession(db: Db, mailboxId: string, at: Date): Promise<void> {
  await db.query(`UPDATE mailbox_imap SET last_session_at = $2, status = 'active', last_error = NULL WHERE mailbox_id = $1`, [mailboxId, at]);
}

/** The server refused the credentials; true when this is news (the status was active), so one alert is raised per failure. */
export async function markImapAuthFailed(db: Db, mailboxId: string, error: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE mailbox_imap SET status = 'auth_failed', last_error = $2, updated_at = now() WHERE mailbox_id = $1 AND status <> 'auth_failed'`,
    [mailboxId, error.slice(0, 500)],
  );
  return rowCount === 1;
}

/** Forgets a mailbox's IMAP settings; true when it had some. */
export async function deleteImapSettings(db: Db, mailboxId: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM mailbox_imap WHERE mailbox_id = $1', [mailboxId]);
  return rowCount === 1;
}
