import type { Pool, PoolClient } from 'pg';
import { spreadCounts } from '../../workflows/policy/spread';

/** The unit a campaign lane works on: one lead's next step. */
export interface WorkItem {
  leadId: string;
  step: number;
}

/**
 * Hands a campaign lane (one mailbox) up to `limit` leads: first its own work
 * (step 0 it already claimed, or a follow-up that is due: follow-ups stay on
 * the mailbox that sent step 0), then unassigned work (new leads, and due
 * follow-ups a failed mailbox gave back), which it claims. At most `maxNew`
 * of them are first steps (limits.newLeadsPerDay; null: no limit). SKIP
 * LOCKED keeps concurrent lanes from taking the same lead. A follow-up is
 * due when its next_due_at is at or before `nowMs` (the caller's clock: a
 * lane's workflow time), the database's now() when omitted.
 */
export async function claimWork(
  pool: Pool,
  campaignId: string,
  mailboxId: string,
  limit = 1,
  maxNew: number | null = null,
  nowMs?: number,
): Promise<WorkItem[]> {
  const now = nowMs !== undefined ? new Date(nowMs) : null;
  const newCap = maxNew === null ? limit : Math.max(0, Math.min(limit, maxNew));
  // Its own first steps (at most newCap), then its own due follow-ups.
  const own = await pool.query<{ id: string; next_step: number }>(
    `(SELECT id, next_step FROM leads WHERE campaign_id = $1 AND mailbox_id = $2 AND status = 'pending' ORDER BY id LIMIT $4)
     UNION ALL
     (SELECT id, next_step FROM leads WHERE campaign_id = $1 AND mailbox_id = $2 AND status = 'active'
        AND next_due_at <= coalesce($5::timestamptz, now())
      ORDER BY next_due_at, id LIMIT $3)`,
    [campaignId, mailboxId, limit, newCap, now],
  );
  const items: WorkItem[] = own.rows.slice(0, limit).map((r) => ({ leadId: r.id, step: r.next_step }));
  const news = Math.min(newCap, own.rows.filter((r) => r.next_step === 0).length);
  if (items.length >= limit) return items;
  const fresh = await pool.query<{ id: string; next_step: number }>(
    `WITH f AS (SELECT id FROM leads WHERE campaign_id = $1 AND mailbox_id IS NULL AND status = 'active'
                  AND next_due_at <= coalesce($5::timestamptz, now())
                ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED),
          p AS (SELECT id FROM leads WHERE campaign_id = $1 AND mailbox_id IS NULL AND status = 'pending'
                ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)
     UPDATE leads SET mailbox_id = $2 WHERE id IN (SELECT id FROM f UNION ALL SELECT id FROM p)
     RETURNING id, next_step`,
    [campaignId, mailboxId, limit - items.length, Math.max(0, Math.min(limit - items.length, newCap - news)), now],
  );
  const taken = fresh.rows.sort((a, b) => (a.id < b.id ? -1 : 1)).slice(0, limit - items.length);
  return items.concat(taken.map((r) => ({ leadId: r.id, step: r.next_step })));
}

/**
 * What a lane could take now: its own due work and the campaign's unassigned
 * work (new leads, and due follow-ups a failed mailbox gave back), each
 * counted only up to `cap` (cheap at any campaign size); the sequence steps
 * (0-based) that work is at; and when the lane's next follow-up (its own or
 * an unassigned one) falls due, so an idle lane sleeps until then. "Due" is
 * read at `nowMs` (a lane's workflow time), the database's now() when omitted.
 */
export async function availableWork(
  pool: Pool,
  campaignId: string,
  mailboxId: string,
  cap: number,
  nowMs?: number,
): Promise<{ own: number; ownNew: number; unassigned: number; unassignedNew: number; steps: number[]; nextDueAt: number | null }> {
  const { rows } = await pool.query<{ own: number; own_new: number; unassigned: number; unassigned_new: number; own_steps: number[] | null; unassigned_steps: number[] | null }>(
    `WITH o AS (SELECT next_step, status FROM leads WHERE campaign_id = $1 AND mailbox_id = $2
                  AND (status = 'pending' OR (status = 'active' AND next_due_at <= coalesce($4::timestamptz, now()))) LIMIT $3),
          u AS (SELECT next_step, status FROM leads WHERE campaign_id = $1 AND mailbox_id IS NULL
                  AND (status = 'pending' OR (status = 'active' AND next_due_at <= coalesce($4::timestamptz, now()))) LIMIT $3)
     SELECT (SELECT count(*) FROM o)::int AS own,
            (SELECT count(*) FILTER (WHERE status = 'pending') FROM o)::int AS own_new,
            (SELECT array_agg(DISTINCT next_step ORDER BY next_step) FROM o) AS own_steps,
            (SELECT count(*) FROM u)::int AS unassigned,
            (SELECT count(*) FILTER (WHERE status = 'pending') FROM u)::int AS unassigned_new,
            (SELECT array_agg(DISTINCT next_step ORDER BY next_step) FROM u) AS unassigned_steps`,
    [campaignId, mailboxId, cap, nowMs !== undefined ? new Date(nowMs) : null],
  );
  const r = rows[0] ?? { own: 0, own_new: 0, unassigned: 0, unassigned_new: 0, own_steps: null, unassigned_steps: null };
  const steps = new Set([...(r.own_steps ?? []), ...(r.unassigned_steps ?? [])]);
  let nextDueAt: number | null = null;
  if (r.own + r.unassigned === 0) {
    nextDueAt = await nextFollowUpDue(pool, campaignId, mailboxId);
  }
  return {
    own: r.own,
    ownNew: r.own_new,
    unassigned: r.unassigned,
    unassignedNew: r.unassigned_new,
    steps: [...steps].sort((a, b) => a - b),
    nextDueAt,
  };
}

/** When the next follow-up falls due for a lane: its own, or one a failed mailbox gave back (leads_lane_active_idx). */
export async function nextFollowUpDue(pool: Pool, campaignId: string, mailboxId: string): Promise<number | null> {
  const due = await pool.query<{ at: Date | null }>(
    `SELECT least(
       (SELECT min(next_due_at) FROM leads WHERE campaign_id = $1 AND mailbox_id = $2 AND status = 'active'),
       (SELECT min(next_due_at) FROM leads WHERE campaign_id = $1 AND mailbox_id IS NULL AND status = 'active')) AS at`,
    [campaignId, mailboxId],
  );
  return due.rows[0]?.at ? due.rows[0].at.getTime() : null;
}

/**
 * Spreads a campaign's unassigned first-step leads over its mailboxes when
 * it starts: each mailbox's load is its unsent assigned leads in every
 * campaign plus what it sent in the last 24 hours, and the least loaded are
 * filled first (spreadCounts), so campaigns sharing a pool level it out.
 * Ties are broken per campaign. Serialised across campaigns, so two starting
 * together see each other's leads. A mailbox that cannot send for a while
 * gives its share back (releaseUnsent) and the other lanes take it.
 * Returns how many leads each mailbox got, in the given order.
 */
export async function spreadUnassigned(pool: Pool, campaignId: string, mailboxIds: string[]): Promise<number[]> {
  if (mailboxIds.length === 0) return [];
  const lanesIds = [...new Set(mailboxIds)];
  const db = await pool.connect();
  try {
    await db.query('BEGIN');
    // Another campaign's spread holds the lock for seconds at most; give up (and let the activity retry) rather than queue up.
    await db.query("SET LOCAL lock_timeout = '20s'");
    await db.query("SELECT pg_advisory_xact_lock(hashtext('outreach:lead-spread'))");
    const { rows: todo } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM leads WHERE campaign_id = $1 AND status = 'pending' AND mailbox_id IS NULL AND next_step = 0`,
      [campaignId],
    );
    const total = todo[0]!.n;
    if (total === 0) {
      await db.query('COMMIT');
      return mailboxIds.map(() => 0);
    }
    const { rows: lanes } = await db.query<{ id: string; load: number }>(
      `SELECT m.id, (coalesce(p.n, 0) + coalesce(s.n, 0))::int AS load
       FROM unnest($1::uuid[]) WITH ORDINALITY AS m(id, ord)
       LEFT JOIN (SELECT mailbox_id, count(*) AS n FROM leads
                  WHERE mailbox_id = ANY($1::uuid[]) AND status = 'pending' GROUP BY mailbox_id) p ON p.mailbox_id = m.id
       LEFT JOIN (SELECT mailbox_id, count(*) AS n FROM sends
                  WHERE mailbox_id = ANY($1::uuid[]) AND sent_at > now() - interval '24 hours' GROUP BY mailbox_id) s ON s.mailbox_id = m.id
       ORDER BY md5(m.id::text || $2), m.ord`,
      [lanesIds, campaignId],
    );
    const counts = spreadCounts(lanes.map((l) => l.load), total);
    // Lead r (in id order) goes to the lane whose range [lo, lo + count) holds r:
    // width_bucket over the ranges' lower bounds finds it by binary search.
    const ids: string[] = [];
    const bounds: number[] = [];
    let lo = 0;
    lanes.forEach((l, i) => {
      if (counts[i]! === 0) return;
      ids.push(l.id);
      bounds.push(lo);
      lo += counts[i]!;
    });
    await db.query(
      `WITH todo AS (
         SELECT id, row_number() OVER (ORDER BY id) - 1 AS r FROM leads
         WHERE campaign_id = $1 AND status = 'pending' AND mailbox_id IS NULL AND next_step = 0)
       UPDATE leads l SET mailbox_id = ($2::uuid[])[width_bucket(todo.r, $3::bigint[])]
       FROM todo WHERE l.id = todo.id AND todo.r < $4`,
      [campaignId, ids, bounds, total],
    );
    await db.query('COMMIT');
    const byId = new Map(lanes.map((l, i) => [l.id, counts[i]!]));
    return mailboxIds.map((id) => byId.get(id) ?? 0);
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    db.release();
  }
}

/** Gives the unsent step-0 leads held by mailboxes outside `mailboxIds` back to the campaign. */
export async function releaseOutsidePlan(pool: Pool, campaignId: string, mailboxIds: string[]): Promise<number> {
  const { rowCount } = await pool.query(
    `UPDATE leads SET mailbox_id = NULL
     WHERE campaign_id = $1 AND status = 'pending' AND next_step = 0 AND mailbox_id IS NOT NULL AND NOT (mailbox_id = ANY($2::uuid[]))`,
    [campaignId, mailboxIds],
  );
  return rowCount ?? 0;
}

/** Gives a stopped mailbox's unsent step-0 leads back to the campaign's other mailboxes. */
export async function releaseUnsent(pool: Pool, campaignId: string, mailboxId: string): Promise<number> {
  const { rowCount } = await pool.query(
    `UPDATE leads SET mailbox_id = NULL WHERE campaign_id = $1 AND mailbox_id = $2 AND status = 'pending' AND next_step = 0`,
    [campaignId, mailboxId],
  );
  return rowCount ?? 0;
}

/**
 * Gives everything a failed mailbox still holds in a campaign back to the
 * campaign: its unsent new leads and its waiting follow-ups (another
 * mailbox sends those, in the same thread by References).
 */
export async function releaseAllOfMailbox(pool: Pool, campaignId: string, mailboxId: string): Promise<number> {
  const { rowCount } = await pool.query(
    `UPDATE leads SET mailbox_id = NULL WHERE campaign_id = $1 AND mailbox_id = $2 AND status IN ('pending', 'active')`,
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

/** After step `step` went out (at `sentAtMs`, the database's now() when omitted): schedule the next one, or finish the lead. */
export async function advanceLead(
  pool: Pool,
  leadId: string,
  step: number,
  nextDelayDays: number | null,
  sentAtMs?: number,
  /** A staged start's sample stage: the next step is held until the approval (it keeps its due time). */
  holdNext = false,
): Promise<void> {
  await pool.query(
    `UPDATE leads SET
       status = CASE WHEN $3::double precision IS NULL THEN 'done' WHEN $5 THEN 'held' ELSE 'active' END,
       next_step = $2 + 1,
       next_due_at = CASE WHEN $3::double precision IS NULL THEN NULL
                          ELSE coalesce($4::timestamptz, now()) + make_interval(secs => $3 * 86400) END
     WHERE id = $1 AND status IN ('pending', 'active') AND next_step = $2 -- idempotent: a replay does not move it twice
    `,
    [leadId, step, nextDelayDays, sentAtMs !== undefined ? new Date(sentAtMs) : null, holdNext],
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
export async function markReplied(pool: Pool | PoolClient, clientId: string, email: string, campaignId?: string): Promise<number> {
  const { rowCount } = await pool.query(
    `UPDATE leads SET status = 'replied', next_due_at = NULL
     WHERE client_id = $1 AND lower(email) = lower($2) AND ($3::uuid IS NULL OR campaign_id = $3)
       AND status IN ('pending', 'active', 'done', 'held')`, // held: a staged start's lead waiting for the approval
    [clientId, email, campaignId ?? null],
  );
  return rowCount ?? 0;
}
