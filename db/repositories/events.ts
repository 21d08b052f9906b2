import type { Pool, PoolClient } from 'pg';
import { uuidv7 } from '../../core/ids';
import type { FeedbackEvent, FeedbackType } from '../../core/webhooks/events';
import type { SendStatus } from '../../core/webhooks/feedback-rules';

type Db = Pool | PoolClient;

export interface EventSend {
  id: string;
  clientId: string;
  campaignId: string;
  leadId: string;
  mailboxId: string | null;
  status: SendStatus;
  leadEmail: string;
  leadStatus: string;
  providerMessageId: string | null;
  messageIdHeader: string | null;
  /**
   * The provider account the send went through, or, when none was recorded
   * (an attempt interrupted before it heard back), every account of its
   * mailbox; each with its sealed settings (core/crypto.ts SecretBox).
   */
  accounts: { kind: string; configSealed: string }[];
}

/**
 * The send a provider event names, locked for this transaction: by our
 * correlation id (sends.id) first, else by the provider's message id. Whether
 * the event is really about it is core/webhooks/event-match.ts's call.
 */
export async function findSendForEvent(db: Db, e: Pick<FeedbackEvent, 'provider' | 'correlationId' | 'providerMessageId'>): Promise<EventSend | null> {
  if (!e.correlationId && !e.providerMessageId) return null;
  // A provider message id is only unique within that provider: match it
  // among sends that went out through an account of the event's provider (or
  // an SMTP account, which may be that provider's SMTP relay), newest first.
  const { rows } = await db.query<EventSend>(
    `SELECT s.id, s.client_id AS "clientId", s.campaign_id AS "campaignId", s.lead_id AS "leadId", s.mailbox_id AS "mailboxId",
            s.status, l.email AS "leadEmail", l.status AS "leadStatus",
            s.provider_message_id AS "providerMessageId", s.message_id_header AS "messageIdHeader",
            COALESCE(
              (SELECT json_agg(json_build_object('kind', pa.kind, 'configSealed', pa.config_encrypted))
                 FROM provider_accounts pa WHERE pa.id = s.provider_account_id),
              (SELECT json_agg(json_build_object('kind', pa.kind, 'configSealed', pa.config_encrypted))
                 FROM mailboxes m JOIN provider_accounts pa ON pa.id = ANY(m.provider_ids) WHERE m.id = s.mailbox_id),
              '[]'::json
            ) AS accounts
     FROM sends s JOIN leads l ON l.id = s.lead_id
     WHERE ($1::uuid IS NOT NULL AND s.id = $1::uuid)
        OR ($2::text IS NOT NULL AND s.provider_message_id = $2
            AND EXISTS (SELECT 1 FROM provider_accounts pa WHERE pa.id = s.provider_account_id AND pa.kind IN ($3, 'smtp')))
     ORDER BY (s.id = $1::uuid) DESC NULLS LAST, s.created_at DESC
     LIMIT 1
     FOR UPDATE OF s, l`,
    [e.correlationId, e.providerMessageId, e.provider],
  );
  return rows[0] ?? null;
}

/**
 * Stores the event unless its provider event id was seen before; true when
 * stored. An event arriving after its lead was erased (README "Privacy")
 * keeps an empty payload: the provider's copy names the address.
 */
export async function insertEvent(db: Db, e: FeedbackEvent, match: { clientId: string | null; sendId: string | null }): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO events (id, client_id, send_id, provider_kind, type, dedupe_key, payload, occurred_at)
     VALUES ($1, $2, $3, $4, $5, $6,
             CASE WHEN EXISTS (SELECT 1 FROM sends s JOIN leads l ON l.id = s.lead_id WHERE s.id = $3::uuid AND l.erased_at IS NOT NULL)
                  THEN '{}'::jsonb ELSE $7::jsonb END,
             $8) ON CONFLICT (dedupe_key) DO NOTHING`,
    [uuidv7(), match.clientId, match.sendId, e.provider, e.type, `${e.provider}:${e.eventId}`, JSON.stringify(e.payload ?? {}), e.occurredAt],
  );
  return rowCount === 1;
}

/** Settles a send from an event; a send that went out without a recorded time gets one. */
export async function setSendStatusFromEvent(db: Db, sendId: string, status: SendStatus): Promise<void> {
  await db.query(
    `UPDATE sends SET status = $2, sent_at = COALESCE(sent_at, updated_at), updated_at = now() WHERE id = $1`,
    [sendId, status],
  );
}

/** Records a webhook token; false when it was seen before (a replay). */
export async function consumeWebhookToken(db: Db, provider: string, token: string): Promise<boolean> {
  const { rowCount } = await db.query(
    'INSERT INTO webhook_tokens (provider, token) VALUES ($1, $2) ON CONFLICT DO NOTHING',
    [provider, token],
  );
  return rowCount === 1;
}

/** Forgets tokens older than any timestamp that could still pass the freshness check. */
export async function pruneWebhookTokens(db: Db, olderThanSeconds: number): Promise<void> {
  await db.query(`DELETE FROM webhook_tokens WHERE seen_at < now() - make_interval(secs => $1)`, [olderThanSeconds]);
}

/**
 * An event we observed ourselves rather than a provider reported (a
 * permanent rejection of the recipient at send time): stored once per
 * `dedupeKey`, as the send's own, under the kind of the account that refused
 * it. True when stored.
 */
export async function insertOwnEvent(
  db: Db,
  e: { clientId: string; sendId: string; providerAccountId: string | null; type: FeedbackType; dedupeKey: string; payload: unknown; occurredAt: Date },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO events (id, client_id, send_id, provider_kind, type, dedupe_key, payload, occurred_at)
     VALUES ($1, $2, $3, coalesce((SELECT kind FROM provider_accounts WHERE id = $4::uuid), 'unknown'), $5, $6, $7, $8)
     ON CONFLICT (dedupe_key) DO NOTHING`,
    [uuidv7(), e.clientId, e.sendId, e.providerAccountId, e.type, e.dedupeKey, JSON.stringify(e.payload ?? {}), e.occurredAt],
  );
  return rowCount === 1;
}
