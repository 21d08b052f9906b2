import type { Pool, PoolClient } from 'pg';
import { uuidv7 } from '../../core/ids';
import { withTransaction } from '../pool';
import { latestVersionsForShare, type PinnedTemplates } from './templates';
import { DEFAULT_CAMPAIGN_TIMEZONE, type CampaignLimits, type CampaignStatus, type CampaignTracking, type CreateCampaignBody } from '../../core/schemas/campaigns';
import type { WEEKDAYS } from '../../core/schemas/mailboxes';
import { stepTemplateIds, stepTemplatePath, type CampaignStepDef } from '../../core/schemas/campaign-variants';

export interface CampaignRecord {
  id: string;
  clientId: string;
  name: string;
  status: CampaignStatus;
  /** Each step's template, or its A/B variants (migration 027). */
  steps: CampaignStepDef[];
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
  /** The template versions pinned at start (migration 022); null for a draft, or a campaign started before it. */
  templateVersions: PinnedTemplates | null;
  /** How it was started (migration 028): 'live', 'dry-run' or 'staged'; sampleRatio and stage for 'staged'. */
  runMode?: 'live' | 'dry-run' | 'staged';
  sampleRatio?: number | null;
  stage?: 'sample' | 'approved' | null;
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
  stop_on_auto_reply AS "stopOnAutoReply", template_versions AS "templateVersions",
  run_mode AS "runMode", sample_ratio AS "sampleRatio", stage
  FROM campaigns`;

/** The stored columns of a campaign's settings, in INSERT order after id and client_id. */
function settingsColumns(c: CreateCampaignBody): unknown[] {
  return [
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
  ];
}

export async function createCampaign(pool: Pool, clientId: string, c: CreateCampaignBody): Promise<CampaignRecord> {
  const id = uuidv7();
  await pool.query(
    `INSERT INTO campaigns (id, client_id, name, steps, mailbox_selector, send_window, timezone, start_at, limits, track_opens, track_clicks, stop_on_auto_reply)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
    [id, clientId, ...settingsColumns(c)],
  );
  return (await getCampaign(pool, clientId, id))!;
}

/** A draft's settings as a create body, to merge an edit onto (and validate the result like a create). */
export function campaignAsBody(c: CampaignRecord): CreateCampaignBody {
  return {
    name: c.name,
    steps: c.steps,
    mailboxes: c.mailboxSelector,
    ...(c.window ? { window: c.window as CreateCampaignBody['window'] } : {}),
    ...(c.timezone ? { timezone: c.timezone } : {}),
    ...(c.startAt ? { startAt: c.startAt.toISOString() } : {}),
    ...(c.limits ? { limits: c.limits } : {}),
    tracking: c.tracking,
    stopOnAutoReply: c.stopOnAutoReply,
  };
}

/**
 * Replaces a draft's settings, only while it is a draft (compare-and-set on
 * status): 'not_draft' when it has left draft, null when there is none.
 */
export async function updateDraftCampaign(pool: Pool, clientId: string, id: string, c: CreateCampaignBody): Promise<CampaignRecord | 'not_draft' | null> {
  const { rowCount } = await pool.query(
    `UPDATE campaigns SET name = $3, steps = $4, mailbox_selector = $5, send_window = $6, timezone = $7, start_at = $8, limits = $9,
       track_opens = $10, track_clicks = $11, stop_on_auto_reply = $12
     WHERE id = $1 AND client_id = $2 AND status = 'draft'`,
    [id, clientId, ...settingsColumns(c)],
  );
  const now = await getCampaign(pool, clientId, id);
  if (!now) return null;
  return rowCount === 1 ? now : 'not_draft';
}

/**
 * Deletes a draft with its leads (and anything else of it: the foreign keys
 * cascade), in one statement. 'not_draft' when it has left draft, null when there is none.
 */
export async function deleteDraftCampaign(pool: Pool, clientId: string, id: string): Promise<'deleted' | 'not_draft' | null> {
  const { rowCount } = await pool.query(`DELETE FROM campaigns WHERE id = $1 AND client_id = $2 AND status = 'draft'`, [id, clientId]);
  if (rowCount === 1) return 'deleted';
  return (await getCampaign(pool, clientId, id)) ? 'not_draft' : null;
}

/**
 * draft → running, pinning the latest version of each step's template (the
 * versions the campaign will send, whatever edits come later), in one
 * transaction: the campaign row is locked (no edit of the draft in between)
 * and its templates are locked FOR SHARE (no edit or delete in between).
 * 'not_draft' when it has left draft, `missing` the paths (steps.N.templateId,
 * steps.N.variants.I.templateId) of templates deleted since. Every variant's version is pinned too.
 */
export async function startDraftCampaign(
  pool: Pool,
  clientId: string,
  id: string,
  /** Runs in the same transaction once the start is sure (a run mode, a staged start's sample). */
  prepare?: (tx: PoolClient) => Promise<void>,
): Promise<{ started: PinnedTemplates } | { refused: 'not_draft' } | { missing: string[] }> {
  return withTransaction(pool, async (tx) => {
    const { rows } = await tx.query<{ status: string; steps: CampaignRecord['steps'] }>(
      'SELECT status, steps FROM campaigns WHERE id = $1 AND client_id = $2 FOR UPDATE',
      [id, clientId],
    );
    const row = rows[0];
    if (!row || row.status !== 'draft') return { refused: 'not_draft' as const };
    const pins = await latestVersionsForShare(tx, clientId, [...new Set(row.steps.flatMap(stepTemplateIds))]);
    const missing = row.steps.flatMap((s, i) => stepTemplateIds(s).flatMap((t, j) => (pins[t] ? [] : [stepTemplatePath(i, s, j)])));
    if (missing.length) return { missing };
    if (prepare) await prepare(tx);
    await tx.query(
      `UPDATE campaigns SET status = 'running', status_changed_at = now(), started_at = coalesce(started_at, now()), template_versions = $3
       WHERE id = $1 AND client_id = $2`,
      [id, clientId, JSON.stringify(pins)],
    );
    return { started: pins };
  });
}

export async function getCampaign(pool: Pool | PoolClient, clientId: string, id: string): Promise<CampaignRecord | null> {
  const { rows } = await pool.query<CampaignRecord>(`${SELECT} WHERE id = $1 AND client_id = $2`, [id, clientId]);
  return rows[0] ?? null;
}

export async function getCampaignById(pool: Pool, id: string): Promise<CampaignRecord | null> {
  const { rows } = await pool.query<CampaignRecord>(`${SELECT} WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

/** A page of campaigns in id order after `afterId`: one client's (clientId), or every client's (null, the operator). */
export async function listCampaigns(
  pool: Pool,
  filter: { clientId: string | null; status?: CampaignStatus; afterId?: string; limit: number },
): Promise<CampaignRecord[]> {
  const { rows } = await pool.query<CampaignRecord>(
    `${SELECT} WHERE ($1::uuid IS NULL OR client_id = $1) AND ($2::text IS NULL OR status = $2)
       AND ($3::uuid IS NULL OR id > $3) ORDER BY id LIMIT $4`,
    [filter.clientId, filter.status ?? null, filter.afterId ?? null, filter.limit],
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
