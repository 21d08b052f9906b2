/**
 * Dry runs and staged starts (migration 028): a campaign's run mode, a staged
 * start's sample and held leads, dry-run previews and the sample's figures.
 */
import type { Pool, PoolClient } from 'pg';
import { withTransaction } from '../pool';
import type { RUN_MODES } from '../../core/schemas/campaigns';

export type RunMode = (typeof RUN_MODES)[number];

/** Sets how the campaign runs (inside the start's transaction). */
export async function setRunMode(db: Pool | PoolClient, campaignId: string, mode: RunMode, sample: number | null): Promise<void> {
  await db.query(`UPDATE campaigns SET run_mode = $2, sample_ratio = $3, stage = CASE WHEN $2 = 'staged' THEN 'sample' END WHERE id = $1`, [
    campaignId,
    mode,
    sample,
  ]);
}

/**
 * A staged start: of the campaign's pending leads, ceil(ratio × n) (at least
 * one) form the sample, chosen by the hash of campaign id and lead id (random
 * but reproducible); every other pending lead is held until the approval.
 * Returns the sample's size. The ratio is read as an exact decimal (0.01 × 300 is 3).
 */
export async function chooseSample(db: Pool | PoolClient, campaignId: string, ratio: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `WITH ranked AS (
       SELECT id, row_number() OVER (ORDER BY md5($1::text || id::text), id) AS k, count(*) OVER () AS total
       FROM leads WHERE campaign_id = $1 AND status = 'pending'),
     marked AS (
       UPDATE leads l SET in_sample = (r.k <= greatest(1, ceil(r.total * $2::numeric))),
                          status = CASE WHEN r.k <= greatest(1, ceil(r.total * $2::numeric)) THEN 'pending' ELSE 'held' END
       FROM ranked r WHERE l.id = r.id RETURNING l.in_sample)
     SELECT count(*) FILTER (WHERE in_sample)::int AS n FROM marked`,
    [campaignId, String(ratio)],
  );
  return rows[0]?.n ?? 0;
}

/** Leads uploaded while a staged campaign is in its sample stage wait for the approval too. */
export async function holdNewLeadsOfSample(db: Pool | PoolClient, campaignId: string): Promise<void> {
  await db.query(
    `UPDATE leads SET status = 'held' WHERE campaign_id = $1 AND status = 'pending' AND NOT in_sample
       AND EXISTS (SELECT 1 FROM campaigns WHERE id = $1 AND stage = 'sample')`,
    [campaignId],
  );
}

/** The approval: the held leads go on (a first step is pending, a held follow-up waits for its due time) and the stage is 'approved'. */
export async function releaseHeld(db: Pool | PoolClient, campaignId: string): Promise<number> {
  await db.query(`UPDATE campaigns SET stage = 'approved' WHERE id = $1`, [campaignId]);
  const { rowCount } = await db.query(
    `UPDATE leads SET status = CASE WHEN next_step = 0 THEN 'pending' ELSE 'active' END WHERE campaign_id = $1 AND status = 'held'`,
    [campaignId],
  );
  return rowCount ?? 0;
}

export interface SampleFigures {
  size: number;
  sent: number;
  bounced: number;
  complained: number;
  replied: number;
  failed: number;
}

/** A staged campaign's sample: its size, what went out to it and what became of it. */
export async function sampleFigures(pool: Pool, campaignId: string): Promise<SampleFigures> {
  const { rows } = await pool.query<SampleFigures>(
    `SELECT count(*)::int AS size,
            count(*) FILTER (WHERE status = 'bounced')::int AS bounced,
            count(*) FILTER (WHERE status = 'complained')::int AS complained,
            count(*) FILTER (WHERE status = 'replied')::int AS replied,
            (SELECT count(*) FROM sends s JOIN leads sl ON sl.id = s.lead_id
              WHERE s.campaign_id = $1 AND sl.in_sample AND s.status IN ('sent', 'delivered', 'bounced', 'complained'))::int AS sent,
            (SELECT count(*) FROM sends s JOIN leads sl ON sl.id = s.lead_id
              WHERE s.campaign_id = $1 AND sl.in_sample AND s.status = 'failed')::int AS failed
     FROM leads WHERE campaign_id = $1 AND in_sample`,
    [campaignId],
  );
  return rows[0]!;
}

/**
 * The grants a dry run paces a mailbox by, since `sinceMs`: the instants of
 * its real sends and the slots dry runs recorded on it.
 */
export async function dryRunPacingGrants(pool: Pool, mailboxId: string, sinceMs: number): Promise<number[]> {
  const { rows } = await pool.query<{ at: Date }>(
    `SELECT coalesce(slot_at, sent_at) AS at FROM sends
     WHERE mailbox_id = $1 AND status IN ('sent', 'delivered', 'bounced', 'complained', 'unknown', 'dry_run')
       AND coalesce(slot_at, sent_at) >= $2`,
    [mailboxId, new Date(sinceMs)],
  );
  return rows.map((r) => r.at.getTime());
}

/** A dry-run send: recorded as 'dry_run' with what it would have sent (its Message-ID threads the next step), in one transaction. */
export async function recordDryRun(
  pool: Pool,
  r: { sendId: string; clientId: string; campaignId: string; message: Record<string, unknown>; messageIdHeader: string; slotAt?: number; at?: number },
): Promise<void> {
  await withTransaction(pool, async (db) => {
    await db.query(
      `INSERT INTO send_previews (send_id, client_id, campaign_id, message) VALUES ($1, $2, $3, $4)
       ON CONFLICT (send_id) DO UPDATE SET message = EXCLUDED.message`,
      [r.sendId, r.clientId, r.campaignId, JSON.stringify(r.message)],
    );
    await db.query(
      `UPDATE sends SET status = 'dry_run', message_id_header = $2, slot_at = $3, sent_at = coalesce($4::timestamptz, now()),
         updated_at = now(), last_error = NULL WHERE id = $1`,
      [r.sendId, r.messageIdHeader, r.slotAt !== undefined ? new Date(r.slotAt) : null, r.at !== undefined ? new Date(r.at) : null],
    );
  });
}

/** One send's preview, only within the client's campaign (null: none, or not this client's). */
export async function getSendPreview(pool: Pool, clientId: string, campaignId: string, sendId: string) {
  const { rows } = await pool.query<{
    sendId: string; leadId: string; step: number; status: string; message: Record<string, unknown>; renderedAt: Date;
  }>(
    `SELECT s.id AS "sendId", s.lead_id AS "leadId", s.step, s.status, p.message, p.created_at AS "renderedAt"
     FROM send_previews p JOIN sends s ON s.id = p.send_id
     WHERE p.send_id = $3 AND p.campaign_id = $2 AND p.client_id = $1 AND s.client_id = $1`,
    [clientId, campaignId, sendId],
  );
  return rows[0] ?? null;
}

/** How the campaign runs ('live' when there is none). */
export async function getRunMode(pool: Pool, campaignId: string): Promise<RunMode> {
  const { rows } = await pool.query<{ run_mode: RunMode }>('SELECT run_mode FROM campaigns WHERE id = $1', [campaignId]);
  return rows[0]?.run_mode ?? 'live';
}
