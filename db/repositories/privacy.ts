import type { Pool, PoolClient } from 'pg';
import { uuidv7 } from '../../core/ids';

type Db = Pool | PoolClient;

/** Whose data a request covers: one client's, or (null) every client's, the operator's. */
export type PrivacyScope = string | null;

export interface ErasureCounts {
  leads: number;
  sends: number;
  events: number;
  replies: number;
  suppressions: number;
  suppressionRemovals: number;
  previews: number;
}

/**
 * Rendered previews (send_previews, dry runs: issue 14 point 1) come with
 * another branch's migration: until it is merged the table may be absent,
 * and there is nothing to erase, export or prune.
 */
async function hasPreviews(db: Db): Promise<boolean> {
  const { rows } = await db.query<{ t: string | null }>(`SELECT to_regclass('public.send_previews')::text AS t`);
  return rows[0]?.t != null;
}

/** LIKE's own wildcards in an address (`_`) taken literally. */
const likeEscaped = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);
/** The address as a literal in a PostgreSQL regular expression. */
const regexEscaped = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, (c) => `\\${c}`);

/** The empty payload an erased or pruned provider event keeps (its type, time and send stay: the figures stay true). */
export const EMPTIED_PAYLOAD = '{}';

/**
 * Removes one person's data in the caller's transaction (README "Privacy"):
 * the leads keep their row (campaign figures stay true) with the address
 * replaced by `erased-<lead id>@erased.invalid`, no vars, and a lead still
 * waiting stops (suppressed); their sends lose error texts and tracked links
 * (either may quote the address); provider events of those sends, or whose
 * payload names the address, keep an empty payload; replies from the person
 * or on their leads lose sender, subject and body; clear suppressions and
 * removal records go, rendered previews of its sends go, and one hashed suppression (suppression_hashes) keeps
 * the address unmailable. `email` is normalised (lower-case).
 */
export async function eraseAddress(tx: PoolClient, scope: PrivacyScope, email: string, emailHash: string): Promise<ErasureCounts> {
  const { rows: leads } = await tx.query<{ id: string }>(
    `SELECT id FROM leads WHERE lower(email) = $1 AND ($2::uuid IS NULL OR client_id = $2) ORDER BY id FOR UPDATE`,
    [email, scope],
  );
  const leadIds = leads.map((l) => l.id);
  const sends = await tx.query<{ id: string }>(
    `UPDATE sends SET tracked_links = NULL,
            last_error = CASE WHEN last_error IS NULL THEN NULL ELSE regexp_replace(last_error, $2, '[erased]', 'gi') END,
            updated_at = now()
     WHERE lead_id = ANY($1::uuid[]) RETURNING id`,
    [leadIds, regexEscaped(email)],
  );
  const sendIds = sends.rows.map((s) => s.id);
  const events = await tx.query(
    `UPDATE events SET payload = $4::jsonb
     WHERE (send_id = ANY($1::uuid[]) OR payload::text ILIKE $2)
       AND ($3::uuid IS NULL OR client_id = $3) AND payload <> $4::jsonb`,
    [sendIds, `%${likeEscaped(email)}%`, scope, EMPTIED_PAYLOAD],
  );
  const replies = await tx.query(
    `UPDATE replies SET from_address = 'erased', subject = NULL, body_text = NULL
     WHERE (lead_id = ANY($1::uuid[]) OR lower(from_address) = $2) AND ($3::uuid IS NULL OR client_id = $3)`,
    [leadIds, email, scope],
  );
  const suppressions = await tx.query(
    'DELETE FROM suppressions WHERE email = $1 AND ($2::uuid IS NULL OR client_id = $2)',
    [email, scope],
  );
  const removals = await tx.query(
    'DELETE FROM suppression_removals WHERE lower(email) = $1 AND ($2::uuid IS NULL OR client_id = $2)',
    [email, scope],
  );
  await tx.query(
    `UPDATE leads SET email = 'erased-' || id || '@erased.invalid', vars = '{}'::jsonb, erased_at = now(),
            status = CASE WHEN status IN ('pending', 'active') THEN 'suppressed' ELSE status END,
            next_due_at = CASE WHEN status IN ('pending', 'active') THEN NULL ELSE next_due_at END
     WHERE id = ANY($1::uuid[])`,
    [leadIds],
  );
  const previews = (await hasPreviews(tx))
    ? (await tx.query('DELETE FROM send_previews WHERE send_id = ANY($1::uuid[])', [sendIds])).rowCount ?? 0
    : 0;
  await addSuppressionHash(tx, scope, emailHash);
  return {
    leads: leadIds.length,
    sends: sendIds.length,
    events: events.rowCount ?? 0,
    replies: replies.rowCount ?? 0,
    suppressions: suppressions.rowCount ?? 0,
    suppressionRemovals: removals.rowCount ?? 0,
    previews,
  };
}

export async function addSuppressionHash(db: Db, scope: PrivacyScope, emailHash: string): Promise<void> {
  await db.query(
    `INSERT INTO suppression_hashes (client_id, email_hash) VALUES ($1, $2)
     ON CONFLICT (COALESCE(client_id, '00000000-0000-0000-0000-000000000000'::uuid), email_hash) DO NOTHING`,
    [scope, emailHash],
  );
}

/** Of these hashes, the ones a client may not mail (its own erasures and the operator's, for every client). */
export async function suppressedHashes(db: Db, clientId: string, hashes: string[]): Promise<Set<string>> {
  if (hashes.length === 0) return new Set();
  const { rows } = await db.query<{ email_hash: string }>(
    `SELECT DISTINCT email_hash FROM suppression_hashes
     WHERE email_hash = ANY($2::text[]) AND (client_id IS NULL OR client_id = $1)`,
    [clientId, [...new Set(hashes)]],
  );
  return new Set(rows.map((r) => r.email_hash));
}

/** Everything held about one address, for POST /v1/privacy/export (the scope's clients only). */
export async function exportAddress(db: Db, scope: PrivacyScope, email: string, emailHash: string) {
  const q = async (sql: string, params: unknown[]) => (await db.query(sql, params)).rows;
  const leads = await q(
    `SELECT l.id, l.client_id AS "clientId", l.campaign_id AS "campaignId", c.name AS "campaignName", l.email, l.vars, l.status,
            l.next_step AS "nextStep", l.next_due_at AS "nextDueAt", l.created_at AS "createdAt"
     FROM leads l JOIN campaigns c ON c.id = l.campaign_id
     WHERE lower(l.email) = $1 AND ($2::uuid IS NULL OR l.client_id = $2) ORDER BY l.id`,
    [email, scope],
  );
  const leadIds = leads.map((l) => l.id as string);
  const sends = await q(
    `SELECT s.id, s.client_id AS "clientId", s.campaign_id AS "campaignId", s.lead_id AS "leadId", s.step, m.address AS "from",
            s.status, s.attempts, s.provider_message_id AS "providerMessageId", s.message_id_header AS "messageId",
            s.last_error AS "lastError", s.tracked_links AS "trackedLinks", s.created_at AS "createdAt", s.sent_at AS "sentAt"
     FROM sends s LEFT JOIN mailboxes m ON m.id = s.mailbox_id WHERE s.lead_id = ANY($1::uuid[]) ORDER BY s.id`,
    [leadIds],
  );
  const sendIds = sends.map((s) => s.id as string);
  const events = await q(
    `SELECT id, client_id AS "clientId", send_id AS "sendId", provider_kind AS "provider", type, payload,
            occurred_at AS "occurredAt", received_at AS "receivedAt"
     FROM events WHERE (send_id = ANY($1::uuid[]) OR payload::text ILIKE $2) AND ($3::uuid IS NULL OR client_id = $3) ORDER BY id`,
    [sendIds, `%${likeEscaped(email)}%`, scope],
  );
  const engagements = await q(
    `SELECT send_id AS "sendId", client_id AS "clientId", kind, link_index AS "linkIndex", prefetch, hits,
            first_at AS "firstAt", last_at AS "lastAt"
     FROM engagements WHERE send_id = ANY($1::uuid[]) ORDER BY send_id, kind, link_index`,
    [sendIds],
  );
  const replies = await q(
    `SELECT id, client_id AS "clientId", campaign_id AS "campaignId", lead_id AS "leadId", send_id AS "sendId", source, kind,
            from_address AS "from", subject, message_id AS "messageId", body_text AS "text", received_at AS "receivedAt"
     FROM replies WHERE (lead_id = ANY($1::uuid[]) OR lower(from_address) = $2) AND ($3::uuid IS NULL OR client_id = $3) ORDER BY id`,
    [leadIds, email, scope],
  );
  const suppressions = await q(
    `SELECT client_id AS "clientId", email, reason, created_at AS "createdAt"
     FROM suppressions WHERE email = $1 AND ($2::uuid IS NULL OR client_id = $2) ORDER BY client_id`,
    [email, scope],
  );
  const suppressionRemovals = await q(
    `SELECT id, client_id AS "clientId", email, reason, suppressed_at AS "suppressedAt", actor, forced, removed_at AS "removedAt"
     FROM suppression_removals WHERE lower(email) = $1 AND ($2::uuid IS NULL OR client_id = $2) ORDER BY id`,
    [email, scope],
  );
  const previews = (await hasPreviews(db))
    ? await q(
      `SELECT send_id AS "sendId", client_id AS "clientId", campaign_id AS "campaignId", message, created_at AS "createdAt"
       FROM send_previews WHERE send_id = ANY($1::uuid[]) ORDER BY send_id`,
      [sendIds],
    )
    : [];
  // An erased address is held only as its hash: the export says so (and for whom), never more.
  const erasures = await q(
    `SELECT client_id AS "clientId", created_at AS "erasedAt" FROM suppression_hashes
     WHERE email_hash = $1 AND ($2::uuid IS NULL OR client_id IS NULL OR client_id = $2) ORDER BY created_at`,
    [emailHash, scope],
  );
  return { leads, sends, events, engagements, replies, suppressions, suppressionRemovals, previews, erasures };
}

export type AddressExport = Awaited<ReturnType<typeof exportAddress>>;

/** The log of erase and export requests: who, when, what counts; the address only as its hash. */
export async function logPrivacyRequest(
  db: Db,
  r: { kind: 'erase' | 'export'; scope: PrivacyScope; actor: string; emailHash: string; counts: Record<string, number> },
): Promise<string> {
  const id = uuidv7();
  await db.query(
    'INSERT INTO privacy_requests (id, kind, client_id, actor, email_hash, counts) VALUES ($1, $2, $3, $4, $5, $6)',
    [id, r.kind, r.scope, r.actor, r.emailHash, JSON.stringify(r.counts)],
  );
  return id;
}

/** Retention: deletes rendered previews made before `before`. */
export async function prunePreviews(pool: Pool, before: Date): Promise<number> {
  if (!(await hasPreviews(pool))) return 0;
  return (await pool.query('DELETE FROM send_previews WHERE created_at < $1', [before])).rowCount ?? 0;
}

/**
 * Retention (DATA_RETENTION_DAYS): empties raw provider event payloads
 * received before `before`, a batch at a time (short transactions on a big
 * table). Returns how many were emptied.
 */
export async function pruneEventPayloads(pool: Pool, before: Date, batch = 5000): Promise<number> {
  let total = 0;
  for (;;) {
    const res = await pool.query(
      `UPDATE events SET payload = $2::jsonb WHERE id IN (
         SELECT id FROM events WHERE received_at < $1 AND payload <> $2::jsonb LIMIT $3)`,
      [before, EMPTIED_PAYLOAD, batch],
    );
    total += res.rowCount ?? 0;
    if ((res.rowCount ?? 0) < batch) return total;
  }
}
