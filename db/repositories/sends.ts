import type { Pool, PoolClient } from 'pg';
import { uuidv7 } from '../../core/ids';
import type { SEND_STATUSES } from '../../core/schemas/sends';

export type SendStatus = 'pending' | 'sending' | 'sent' | 'failed' | 'unknown' | 'bounced' | 'complained' | 'delivered' | 'dry_run';

export interface SendRow {
  id: string;
  status: SendStatus;
  attempts: number;
  providerMessageId: string | null;
  providerAccountId: string | null;
  messageIdHeader: string | null;
}

const RETURNING = `id, status, attempts, provider_message_id AS "providerMessageId",
  provider_account_id AS "providerAccountId", message_id_header AS "messageIdHeader"`;

/**
 * Records the intent to send (lead, step) before any provider is called and
 * claims it for this attempt. Returns { claimed: false, row } when another
 * attempt already owns or finished it, and row null when the campaign is not
 * running (paused or cancelled: nothing is written). `opts.at` (epoch ms) is
 * the intent's created_at, the instant the limits.newLeadsPerDay quota counts
 * it in (the caller's clock, a lane's workflow time); the database's now()
 * when omitted.
 */
export async function claimSend(
  pool: Pool | PoolClient,
  key: { clientId: string; campaignId: string; leadId: string; step: number; mailboxId: string },
  opts: { reclaimInterrupted?: boolean; at?: number } = {},
): Promise<{ claimed: true; row: SendRow } | { claimed: false; row: SendRow | null }> {
  // Neither the intent row nor the claim happens unless the campaign runs.
  await pool.query(
    `INSERT INTO sends (id, client_id, campaign_id, lead_id, step, mailbox_id, status, created_at)
     SELECT $1, $2, $3, $4, $5, $6, 'pending', coalesce($7::timestamptz, now()) FROM campaigns WHERE id = $3 AND status = 'running' FOR SHARE
     ON CONFLICT (lead_id, step) DO NOTHING`,
    [uuidv7(), key.clientId, key.campaignId, key.leadId, key.step, key.mailboxId, opts.at !== undefined ? new Date(opts.at) : null],
  );
  // Only while the campaign runs. FOR SHARE makes a pause (UPDATE campaigns)
  // wait for a claim in progress and a claim wait for a pause in progress, so
  // once the pause has committed every claimed send is visible as 'sending'.
  const claimed = await pool.query<SendRow>(
    `WITH running AS (SELECT 1 FROM campaigns WHERE id = $5 AND status = 'running' FOR SHARE)
     UPDATE sends SET status = 'sending', attempts = attempts + 1, mailbox_id = $3, updated_at = now()
     WHERE lead_id = $1 AND step = $2 AND (status = 'pending' OR ($4 AND status = 'sending'))
       AND EXISTS (SELECT 1 FROM running) RETURNING ${RETURNING}`,
    [key.leadId, key.step, key.mailboxId, opts.reclaimInterrupted === true, key.campaignId],
  );
  if (claimed.rows[0]) return { claimed: true, row: claimed.rows[0] };
  const { rows } = await pool.query<SendRow>(`SELECT ${RETURNING} FROM sends WHERE lead_id = $1 AND step = $2`, [
    key.leadId,
    key.step,
  ]);
  return { claimed: false, row: rows[0] ?? null };
}

/**
 * Waits (up to timeoutMs) until no send of the campaign is between its claim
 * and its outcome. Claims lock the campaign row, so after a committed pause
 * every earlier claim is already visible here.
 */
export async function waitForClaimedSends(pool: Pool, campaignId: string, timeoutMs: number): Promise<number> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM sends WHERE campaign_id = $1 AND status = 'sending'`,
      [campaignId],
    );
    const n = rows[0]?.n ?? 0;
    if (n === 0 || Date.now() >= until) return n;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The send's cost at the account that sent it, in USD, from the account's pricing (core/schemas/pricing.ts):
 * the price of one message, a thousandth of a per-thousand price, or for a monthly plan the marginal cost of
 * this send, 0 while the account's sends of the calendar month (UTC, counted in provider_month_usage by
 * `$usage`) are within the included messages and the overage rate after. NULL for an unpriced account.
 */
const SEND_COST_SQL = `CASE acct.pricing->>'kind'
    WHEN 'per_message' THEN (acct.pricing->>'usd')::numeric
    WHEN 'per_thousand' THEN (acct.pricing->>'usd')::numeric / 1000
    WHEN 'monthly' THEN CASE WHEN (SELECT usage.sends FROM usage) <= (acct.pricing->>'includedMessages')::bigint THEN 0
                             ELSE (acct.pricing->>'overagePerThousandUsd')::numeric / 1000 END
  END`;

/**
 * Records the send as accepted by `providerAccountId` (the account that actually sent it: after a failover,
 * the second one) with its cost there, in one statement: a monthly plan's counter and the row move together,
 * and a row whose cost is already recorded never counts twice.
 * sentAt: when it went out (epoch ms, the caller's clock: a lane's workflow time); the database's now() when omitted.
 */
export async function markSent(
  pool: Pool,
  id: string,
  r: { providerAccountId: string; providerMessageId: string; messageIdHeader: string | null; slotAt?: number; sentAt?: number },
): Promise<void> {
  await pool.query(
    `WITH acct AS (SELECT pricing FROM provider_accounts WHERE id = $2),
     usage AS (
       INSERT INTO provider_month_usage AS u (provider_account_id, month, sends)
       SELECT $2, date_trunc('month', coalesce($6::timestamptz, now()) AT TIME ZONE 'UTC')::date, 1 FROM acct
        WHERE acct.pricing->>'kind' = 'monthly' AND EXISTS (SELECT 1 FROM sends WHERE id = $1 AND cost_usd IS NULL)
       ON CONFLICT (provider_account_id, month) DO UPDATE SET sends = u.sends + 1
       RETURNING u.sends
     )
     UPDATE sends SET status = 'sent', provider_account_id = $2, provider_message_id = $3, message_id_header = $4,
       slot_at = $5, sent_at = coalesce($6::timestamptz, now()), updated_at = now(), last_error = NULL,
       cost_usd = coalesce(sends.cost_usd, (SELECT ${SEND_COST_SQL} FROM acct))
     WHERE id = $1`,
    [
      id,
      r.providerAccountId,
      r.providerMessageId,
      r.messageIdHeader,
      r.slotAt !== undefined ? new Date(r.slotAt) : null,
      r.sentAt !== undefined ? new Date(r.sentAt) : null,
    ],
  );
}

/**
 * The provider refused the recipient's address for good at send time (a hard
 * bounce): the send is `bounced`, stamped when it was refused (`at`, the
 * caller's clock; now() when omitted), so it counts in its mailbox's sample
 * like a bounce reported later.
 */
export async function markBouncedAtSend(db: Pool | PoolClient, id: string, error: string, providerAccountId: string | undefined, at?: number): Promise<void> {
  await db.query(
    `UPDATE sends SET status = 'bounced', last_error = $2, provider_account_id = COALESCE($3, provider_account_id),
       sent_at = coalesce($4::timestamptz, now()), updated_at = now() WHERE id = $1`,
    [id, error, providerAccountId ?? null, at !== undefined ? new Date(at) : null],
  );
}

export async function markSendStatus(
  pool: Pool,
  id: string,
  status: SendStatus,
  error: string | null,
  providerAccountId?: string,
): Promise<void> {
  await pool.query(
    `UPDATE sends SET status = $2, last_error = $3, provider_account_id = COALESCE($4, provider_account_id), updated_at = now()
     WHERE id = $1`,
    [id, status, error, providerAccountId ?? null],
  );
}

export async function listSends(
  pool: Pool,
  clientId: string,
  campaignId: string,
  filter: { status?: string; afterId?: string; limit: number },
) {
  const { rows } = await pool.query(
    `SELECT s.id, s.lead_id AS "leadId", l.email AS "leadEmail", s.step, s.mailbox_id AS "mailboxId",
            m.address AS "mailboxAddress", p.name AS provider, s.provider_message_id AS "providerMessageId",
            s.status, s.attempts, s.created_at AS "createdAt", s.sent_at AS "sentAt", s.updated_at AS "updatedAt",
            s.variant_template_id AS "variantTemplateId"
     FROM sends s JOIN leads l ON l.id = s.lead_id
     LEFT JOIN mailboxes m ON m.id = s.mailbox_id LEFT JOIN provider_accounts p ON p.id = s.provider_account_id
     WHERE s.client_id = $1 AND s.campaign_id = $2 AND ($3::text IS NULL OR s.status = $3)
       AND ($4::uuid IS NULL OR s.id > $4)
     ORDER BY s.id LIMIT $5`,
    [clientId, campaignId, filter.status ?? null, filter.afterId ?? null, filter.limit],
  );
  return rows;
}

/**
 * A page of one mailbox's sends, newest first (ids are time-ordered uuidv7s),
 * before `beforeId`; clientId narrows them to one client's (null: every client's, the operator).
 */
export async function listMailboxSends(
  pool: Pool,
  mailboxId: string,
  filter: { clientId: string | null; status?: string; campaignId?: string; beforeId?: string; limit: number },
) {
  const { rows } = await pool.query(
    `SELECT s.id, s.client_id AS "clientId", s.campaign_id AS "campaignId", s.lead_id AS "leadId", l.email AS "leadEmail", s.step,
            s.mailbox_id AS "mailboxId", p.name AS provider, s.provider_message_id AS "providerMessageId",
            s.status, s.attempts, s.created_at AS "createdAt", s.sent_at AS "sentAt", s.updated_at AS "updatedAt"
     FROM sends s JOIN leads l ON l.id = s.lead_id LEFT JOIN provider_accounts p ON p.id = s.provider_account_id
     WHERE s.mailbox_id = $1 AND ($2::uuid IS NULL OR s.client_id = $2) AND ($3::text IS NULL OR s.status = $3)
       AND ($4::uuid IS NULL OR s.campaign_id = $4) AND ($5::uuid IS NULL OR s.id < $5)
     ORDER BY s.id DESC LIMIT $6`,
    [mailboxId, filter.clientId, filter.status ?? null, filter.campaignId ?? null, filter.beforeId ?? null, filter.limit],
  );
  return rows as {
    id: string; clientId: string; campaignId: string; leadId: string; leadEmail: string; step: number; mailboxId: string;
    provider: string | null; providerMessageId: string | null; status: (typeof SEND_STATUSES)[number]; attempts: number; createdAt: Date; sentAt: Date | null; updatedAt: Date;
  }[];
}
