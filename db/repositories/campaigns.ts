import type { Pool, PoolClient } from 'pg';
import { uuidv7 } from '../../core/ids';
import { DEFAULT_CAMPAIGN_TIMEZONE, type CampaignLimits, type CampaignStatus, type CampaignTracking, type CreateCampaignBody } from '../../core/schemas/campaigns';
import type { WEEKDAYS } from '../../core/schemas/mailboxes';

export interface CampaignRecord {
  id: string;
  clientId: string;
  name: string;
  status: CampaignStatus;
  steps: { templateId: string; delayDays: number }[];
  mailboxSelector: { pool?: string; ids?: string[] };
  window: { days: string[]; start: string; end: string } | null;
  timezone: string | null;
  /** No send before this instant; null: as soon as started. */
  startAt: Date | null;
  /** null: no limits. */
  limits: CampaignLimits | null;
  /** Open and click tracking of its HTML bodies (both off unless asked for at creation). */
  tracking: CampaignTracking;
  /** An auto-reply stops the lead in this campaign (migration 020). */
  stopOnAutoReply: boolean;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** Set while the status is 'failed': how the workflow closed. */
  failureReason: string | null;
  failedAt: Date | null;
  /** When the status last changed (null: not since migration 011). */
  statusChangedAt: Date | null;
}

/**
 * The campaign's window as the extra window of a slot search (the mailbox
 * workflow's ReserveRequest.window, the policy's WindowConstraint): read in
 * the campaign's timezone, UTC when none; null when it has no window.
 */
export function campaignWindowConstraint(
  c: Pick<CampaignRecord, 'window' | 'timezone'>,
): { window: { days: (typeof WEEKDAYS)[number][]; start: string; end: string }; timezone: string } | null {
  if (!c.window) return null;
  const { days, start, end } = c.window;
  return { window: { days: days as (typeof WEEKDAYS)[number][], start, end }, timezone: c.timezone ?? DEFAULT_CAMPAIGN_TIMEZONE };
}

const SELECT = `SELECT id, client_id AS "clientId", name, status, steps, mailbox_selector AS "mailboxSelector",
  send_window AS "window", timezone, start_at AS "startAt", limits,
  jsonb_build_object('opens', track_opens, 'clicks', track_clicks) AS tracking, created_at AS "createdAt",
  started_at AS "startedAt", finished_at AS "finishedAt",
  failure_reason AS "failureReason", failed_at AS "failedAt", status_changed_at AS "statusChangedAt",
  stop_on_auto_reply AS "stopOnAutoReply"
  FROM campaigns`;

export async function createCampaign(pool: Pool, clientId: string, c: CreateCampaignBody): Promise<CampaignRecord> {
  const id = uuidv7();
  await pool.query(
    `INSERT INTO campaigns (id, client_id, name, steps, mailbox_selector, send_window, timezone, start_at, limits, track_opens, track_clicks, stop_on_auto_reply)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
    [
      id,
      clientId,
      c.name,
      JSON.stringify(c.steps),
      JSON.stringify(c.mailboxes),
      c.window ? JSON.stringify(c.window) : null,
      c.timezone ?? null,
      // As an instant, not the text: PostgreSQL refuses offsets past ±15:59 that ISO 8601 and JavaScript allow (-21:08 was a 500).
      c.startAt ? new Date(c.startAt) : null,
      c.limits ? JSON.stringify(c.limits) : null,
      c.tracking?.opens ?? false,
      c.tracking?.clicks ?? false,
      c.stopOnAutoReply ?? false,
    ],
  );
  return (await getCampaign(pool, clientId, id))!;
}

export async function getCampaign(pool: Pool | PoolClient, clientId: string, id: string): Promise<CampaignRecord | null> {
  const { rows } = await pool.query<CampaignRecord>(`${SELECT} WHERE id = $1 AND client_id = $2`, [id, clientId]);
  return rows[0] ?? null;
}

export async function getCampaignById(pool: Pool, id: string): Promise<CampaignRecord | null> {
  const { rows } = await pool.query<CampaignRecord>(`${SELECT} WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

export async function listCampaigns(pool: Pool, clientId: string, afterId: string | undefined, limit: number) {
  const { rows } = await pool.query<CampaignRecord>(
    `${SELECT} WHERE client_id = $1 AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3`,
    [clientId, afterId ?? null, limit],
  );
  return rows;
}

/** Compare-and-set on status: returns false when the campaign is not in one of `from`. Leaving 'failed' clears its reason. */
export async function transitionCampaign(
  pool: Pool | PoolClient,
  clientId: string,
  id: string,
  from: CampaignStatus[],
  to: CampaignStatus,
): Promise<boolean> {
  const { rowCount } = await pool.query(
    `UPDATE campaigns SET status = $4, status_changed_at = now(),
       started_at = CASE WHEN $4 = 'running' AND started_at IS NULL THEN now() ELSE started_at END,
       finished_at = CASE WHEN $4 IN ('completed', 'cancelled') THEN now() ELSE finished_at END,
       failure_reason = CASE WHEN $4 = 'failed' THEN failure_reason END,
       failed_at = CASE WHEN $4 = 'failed' THEN failed_at END
     WHERE id = $1 AND client_id = $2 AND status = ANY($3::text[])`,
    [id, clientId, from, to],
  );
  return rowCount === 1;
}

/** A campaign whose row says its workflow should be open. */
export interface LiveCampaign {
  id: string;
  clientId: string;
  status: 'running' | 'paused';
  /** When the row last changed status (started_at or created_at for rows older than migration 011). */
  statusChangedAt: Date;
}

/** One page of running or paused campaigns of every client, in id order, after `afterId`. */
export async function liveCampaignPage(pool: Pool, afterId: string | null, limit: number): Promise<LiveCampaign[]> {
  const { rows } = await pool.query<LiveCampaign>(
    `SELECT id, client_id AS "clientId", status, coalesce(status_changed_at, started_at, created_at) AS "statusChangedAt"
     FROM campaigns WHERE status IN ('running', 'paused') AND ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2`,
    [afterId, limit],
  );
  return rows;
}

/**
 * running/paused → failed with its reason, only if the status has not
 * changed since `seenChangedAt` (what the caller judged). True for the one
 * caller that made the change: the alert is raised once per failure.
 */
export async function markCampaignFailed(db: Pool | PoolClient, id: string, reason: string, seenChangedAt: Date): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE campaigns SET status = 'failed', failure_reason = $2, failed_at = now(), status_changed_at = now()
     WHERE id = $1 AND status IN ('running', 'paused')
       -- $3 came back through a JS Date (milliseconds); the column keeps microseconds.
       AND coalesce(status_changed_at, started_at, created_at) < $3::timestamptz + interval '1 millisecond'`,
    [id, reason, seenChangedAt],
  );
  return rowCount === 1;
}

/** Puts a campaign back to 'failed' with its earlier reason (a restart that did not happen); no alert. */
export async function restoreCampaignFailed(db: Pool | PoolClient, clientId: string, id: string, reason: string | null, failedAt: Date | null): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE campaigns SET status = 'failed', failure_reason = $3, failed_at = coalesce($4, now()), status_changed_at = now()
     WHERE id = $1 AND client_id = $2 AND status = 'running'`,
    [id, clientId, reason, failedAt],
  );
  return rowCount === 1;
}

export async function campaignCounts(pool: Pool, campaignId: string): Promise<Record<string, number>> {
  const { rows } = await pool.query<{ k: string; n: string }>(
    `SELECT 'lead_' || status AS k, count(*) AS n FROM leads WHERE campaign_id = $1 GROUP BY status
     UNION ALL
     SELECT 'send_' || status AS k, count(*) AS n FROM sends WHERE campaign_id = $1 GROUP BY status`,
    [campaignId],
  );
  return Object.fromEntries(rows.map((r) => [r.k, Number(r.n)]));
}

/** Running campaigns whose mailbox selector takes this mailbox (its pool, or its id), of its client or any client for an agency mailbox. */
export async function runningCampaignsUsingMailbox(pool: Pool, mailboxId: string): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(
    `SELECT c.id FROM campaigns c JOIN mailboxes m ON m.id = $1
     WHERE c.status = 'running' AND (m.client_id IS NULL OR c.client_id = m.client_id)
       AND (c.mailbox_selector->>'pool' IS NULL OR c.mailbox_selector->>'pool' = m.pool)
       AND (c.mailbox_selector->'ids' IS NULL OR c.mailbox_selector->'ids' ? m.id::text)`,
    [mailboxId],
  );
  return rows.map((r) => r.id);
}
