import type { Pool, PoolClient } from 'pg';
import { uuidv7 } from '../../core/ids';

type Db = Pool | PoolClient;

/**
 * Whose mail an inbound message may be about. A client's mailbox: only that
 * client's sends. An agency mailbox (clientId null): only the sends that
 * mailbox made, each belonging to whichever client's campaign used it.
 */
export interface InboundScope {
  mailboxId: string;
  clientId: string | null;
}

/** A send an inbound message answers, locked with its lead for the caller's transaction. */
export interface InboundSend {
  id: string;
  clientId: string;
  campaignId: string;
  leadId: string;
  step: number;
  mailboxId: string | null;
  status: 'pending' | 'sending' | 'sent' | 'failed' | 'unknown' | 'bounced' | 'complained' | 'delivered';
  leadEmail: string;
  stopOnAutoReply: boolean;
}

const COLUMNS = `s.id, s.client_id AS "clientId", s.campaign_id AS "campaignId", s.lead_id AS "leadId", s.step,
  s.mailbox_id AS "mailboxId", s.status, l.email AS "leadEmail", c.stop_on_auto_reply AS "stopOnAutoReply"`;
const FROM = 'FROM sends s JOIN leads l ON l.id = s.lead_id JOIN campaigns c ON c.id = s.campaign_id';
/** The scope's bound: the client's sends, or (agency mailbox) the mailbox's own. */
const IN_SCOPE = '(CASE WHEN $1::uuid IS NULL THEN s.mailbox_id = $2::uuid ELSE s.client_id = $1::uuid END)';
const WENT_OUT = `s.status IN ('sending', 'sent', 'delivered', 'unknown', 'bounced', 'complained')`;

/** The send whose Message-ID (as the recipient received it: sends.message_id_header) is among `ids`, in scope. */
export async function sendByMessageIds(db: Db, scope: InboundScope, ids: string[]): Promise<InboundSend | null> {
  if (ids.length === 0) return null;
  const { rows } = await db.query<InboundSend>(
    `SELECT ${COLUMNS} ${FROM}
     WHERE s.message_id_header = ANY($3::text[]) AND ${IN_SCOPE}
     ORDER BY array_position($3::text[], s.message_id_header), s.step DESC
     LIMIT 1
     FOR UPDATE OF s, l`,
    [scope.clientId, scope.mailboxId, ids],
  );
  return rows[0] ?? null;
}

/**
 * The latest send in scope that went out to `address` (the lead's address,
 * letter case aside), this mailbox's first, locked with its lead. For an
 * agency mailbox whose sends to it belong to more than one client, none: a
 * guess could cross tenants.
 */
export async function sendByRecipient(
  db: Db,
  scope: InboundScope,
  address: string,
  opts: { ownMailboxOnly?: boolean } = {},
): Promise<InboundSend | null> {
  const { rows } = await db.query<InboundSend & { clients: number }>(
    `WITH cand AS (
       SELECT ${COLUMNS}, (s.mailbox_id = $2::uuid) AS own, coalesce(s.sent_at, s.updated_at) AS at ${FROM}
       WHERE lower(l.email) = lower($3) AND ${IN_SCOPE} AND ${WENT_OUT} AND (NOT $4::boolean OR s.mailbox_id = $2::uuid))
     SELECT *, (SELECT count(DISTINCT "clientId") FROM cand)::int AS clients FROM cand
     ORDER BY own DESC, at DESC, step DESC
     LIMIT 1`,
    [scope.clientId, scope.mailboxId, address, opts.ownMailboxOnly ?? false],
  );
  const r = rows[0];
  if (!r || r.clients !== 1) return null;
  await db.query('SELECT 1 FROM sends s JOIN leads l ON l.id = s.lead_id WHERE s.id = $1 FOR UPDATE OF s, l', [r.id]);
  const { clients: _c, own: _o, at: _a, ...send } = r as InboundSend & { clients: number; own: boolean; at: Date };
  return send;
}

/** An inbound message's events row (the de-duplication key is unique); false when it was stored before. */
export async function insertInboundEvent(
  db: Db,
  e: { clientId: string | null; sendId: string | null; source: string; type: string; dedupeKey: string; payload: unknown; occurredAt: Date },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO events (id, client_id, send_id, provider_kind, type, dedupe_key, payload, occurred_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (dedupe_key) DO NOTHING`,
    [uuidv7(), e.clientId, e.sendId, e.source, e.type, e.dedupeKey, JSON.stringify(e.payload ?? {}), e.occurredAt],
  );
  return rowCount === 1;
}

/** A lead of one campaign stops without having replied (an auto-reply in a campaign that stops on them). */
export async function stopLeadInCampaign(db: Db, leadId: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE leads SET status = 'done', next_due_at = NULL WHERE id = $1 AND status IN ('pending', 'active', 'held')`,
    [leadId],
  );
  return rowCount === 1;
}

/** The mailboxes at these addresses (letter case aside): an inbound webhook's recipients become their scopes. */
export async function mailboxesByAddress(db: Db, addresses: string[]): Promise<{ mailboxId: string; clientId: string | null; address: string }[]> {
  if (addresses.length === 0) return [];
  const { rows } = await db.query<{ mailboxId: string; clientId: string | null; address: string }>(
    `SELECT id AS "mailboxId", client_id AS "clientId", lower(address) AS address FROM mailboxes WHERE lower(address) = ANY($1::text[]) ORDER BY id`,
    [addresses.map((a) => a.toLowerCase())],
  );
  return rows;
}
