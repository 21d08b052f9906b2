import type { Pool } from 'pg';

/** The unit a campaign lane works on: one lead's next step. */
export interface WorkItem {
  leadId: string;
  step: number;
}

/**
 * Hands a campaign lane (one mailbox) up to `limit` leads: first its own work
 * (step 0 it already claimed, or a follow-up that is due: follow-ups stay on
 * the mailbox that sent step 0), then unassigned pending leads, which it
 * claims. SKIP LOCKED keeps concurrent lanes from taking the same lead.
 */
export async function claimWork(pool: Pool, campaignId: string, mailboxId: string, limit = 1): Promise<WorkItem[]> {
  const own = await pool.query<{ id: string; next_step: number }>(
    `SELECT id, next_step FROM leads
     WHERE campaign_id = $1 AND mailbox_id = $2
       AND (status = 'pending' OR (status = 'active' AND next_due_at <= now()))
     ORDER BY status DESC, next_due_at NULLS FIRST, id LIMIT $3`,
    [campaignId, mailboxId, limit],
  );
  const items = own.rows.map((r) => ({ leadId: r.id, step: r.next_step }));
  if (items.length >= limit) return items;
  const fresh = await pool.query<{ id: string; next_step: number }>(
    `UPDATE leads SET mailbox_id = $2 WHERE id IN (
       SELECT id FROM leads WHERE campaign_id = $1 AND status = 'pending' AND mailbox_id IS NULL
       ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
     RETURNING id, next_step`,
    [campaignId, mailboxId, limit - items.length],
  );
  return items.concat(fresh.rows.sort((a, b) => (a.id < b.id ? -1 : 1)).map((r) => ({ leadId: r.id, step: r.next_step })));
}

/**
 * What a lane could take now: its own due work and the campaign's unassigned
 * leads, each counted only up to `cap` (cheap at any campaign size).
 */
export async function availableWork(pool: Pool, campaignId: string, mailboxId: string, cap: number): Promise<{ own: number; unassigned: number }> {
  const { rows } = await pool.query<{ own: number; unassigned: number }>(
    `SELECT (SELECT count(*) FROM (SELECT 1 FROM leads WHERE campaign_id = $1 AND mailbox_id = $2
               AND (status = 'pending' OR (status = 'active' AND next_due_at <= now())) LIMIT $3) o)::int AS own,
            (SELECT count(*) FROM (SELECT 1 FROM leads WHERE campaign_id = $1 AND status = 'pending' AND mailbox_id IS NULL
               LIMIT $3) u)::int AS unassigned`,
    [campaignId, mailboxId, cap],
  );
  return rows[0] ?? { own: 0, unassigned: 0 };
}

/** Gives a stopped mailbox's unsent step-0 leads back to the campaign's other mailboxes. */
export async function releaseUnsent(pool: Pool, campaignId: string, mailboxId: string): Promise<number> {
  const { rowCount } = await pool.query(
    `UPDATE leads SET mailbox_id = NULL WHERE campaign_id = $1 AND mailbox_id = $2 AND status = 'pending' AND next_step = 0`,
    [campaignId, mailboxId],
  );
  return rowCount ?? 0;
}

/** What is left of a campaign: leads still to send now or later, and when the next follow-up is due. */
export async function remainingWork(pool: Pool, campaignId: string): Promise<{ pending: number; waiting: number; nextDueAt: number | null }> {
  const { rows } = await pool.query<{ pending: number; waiting: number; next_due_at: Date | null }>(
    `SELECT count(*) FILTER (WHERE status = 'pending')::int AS pending,
            count(*) FILTER (WHERE status = 'active')::int AS waiting,
            min(next_due_at) FILTER (WHERE status = 'active') AS next_due_at
     FROM leads WHERE campaign_id = $1`,
    [campaignId],
  );
  const r = rows[0]!;
  return { pending: r.pending, waiting: r.waiting, nextDueAt: r.next_due_at ? r.next_due_at.getTime() : null };
}

/** After step `step` went out: schedule the next one, or finish the lead. */
export async function advanceLead(
  pool: Pool,
  leadId: string,
  step: number,
  nextDelayDays: number | null,
): Promise<void> {
  await pool.query(
    `UPDATE leads SET
       status = CASE WHEN $3::double precision IS NULL THEN 'done' ELSE 'active' END,
       next_step = $2 + 1,
       next_due_at = CASE WHEN $3::double precision IS NULL THEN NULL ELSE now() + make_interval(secs => $3 * 86400) END
     WHERE id = $1 AND status IN ('pending', 'active') AND next_step = $2 -- idempotent: a replay does not move it twice
    `,
    [leadId, step, nextDelayDays],
  );
}

/** Message-IDs of a lead's earlier steps, oldest first, for In-Reply-To / References. */
export async function threadOf(pool: Pool, leadId: string, beforeStep: number): Promise<string[]> {
  const { rows } = await pool.query<{ m: string }>(
    `SELECT message_id_header AS m FROM sends WHERE lead_id = $1 AND step < $2 AND message_id_header IS NOT NULL ORDER BY step`,
    [leadId, beforeStep],
  );
  return rows.map((r) => r.m);
}

/** A reply stops the lead's remaining steps (in one campaign, or all of the client's). */
export async function markReplied(pool: Pool, clientId: string, email: string, campaignId?: string): Promise<number> {
  const { rowCount } = await pool.query(
    `UPDATE leads SET status = 'replied', next_due_at = NULL
     WHERE client_id = $1 AND lower(email) = lower($2) AND ($3::uuid IS NULL OR campaign_id = $3)
       AND status IN ('pending', 'active', 'done')`,
    [clientId, email, campaignId ?? null],
  );
  return rowCount ?? 0;
}
