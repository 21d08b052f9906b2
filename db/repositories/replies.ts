import type { Pool, PoolClient } from 'pg';
import { uuidv7 } from '../../core/ids';

type Db = Pool | PoolClient;

export type ReplyKind = 'reply' | 'auto_reply';

export interface NewReply {
  clientId: string;
  campaignId: string;
  leadId: string;
  sendId: string;
  step: number;
  mailboxId: string | null;
  source: 'imap' | 'ses' | 'mailgun' | 'sendgrid';
  kind: ReplyKind;
  matchedBy: 'message_id' | 'sender';
  fromAddress: string;
  subject: string | null;
  messageId: string | null;
  bodyText: string | null;
  receivedAt: Date;
  dedupeKey: string;
}

export interface ReplyRow {
  id: string;
  leadId: string;
  sendId: string | null;
  step: number | null;
  mailboxId: string | null;
  source: string;
  kind: ReplyKind;
  matchedBy: string;
  fromAddress: string;
  subject: string | null;
  messageId: string | null;
  text: string | null;
  receivedAt: Date;
}

/** Stores a matched reply once (by its de-duplication key); the new row's id, or null when it was stored before. */
export async function insertReply(db: Db, r: NewReply): Promise<string | null> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO replies (id, client_id, campaign_id, lead_id, send_id, step, mailbox_id, source, kind, matched_by,
                          from_address, subject, message_id, body_text, received_at, dedupe_key)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
     ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`,
    [uuidv7(), r.clientId, r.campaignId, r.leadId, r.sendId, r.step, r.mailboxId, r.source, r.kind, r.matchedBy,
      r.fromAddress, r.subject, r.messageId, r.bodyText, r.receivedAt, r.dedupeKey],
  );
  return rows[0]?.id ?? null;
}

/** A campaign's replies in id (arrival) order, after `afterId`; always bounded by the client. */
export async function listReplies(
  db: Db,
  clientId: string,
  campaignId: string,
  filter: { kind?: ReplyKind; afterId?: string; limit: number },
): Promise<ReplyRow[]> {
  const { rows } = await db.query<ReplyRow>(
    `SELECT id, lead_id AS "leadId", send_id AS "sendId", step, mailbox_id AS "mailboxId", source, kind,
            matched_by AS "matchedBy", from_address AS "fromAddress", subject, message_id AS "messageId",
            body_text AS "text", received_at AS "receivedAt"
     FROM replies
     WHERE client_id = $1 AND campaign_id = $2 AND ($3::text IS NULL OR kind = $3) AND ($4::uuid IS NULL OR id > $4)
     ORDER BY id LIMIT $5`,
    [clientId, campaignId, filter.kind ?? null, filter.afterId ?? null, filter.limit],
  );
  return rows;
}
