import type { Pool, PoolClient } from 'pg';
import { uuidv7 } from '../../core/ids';
import { DEFAULT_CAMPAIGN_TIMEZONE, type CampaignLimits, type CampaignStatus, type CreateCampaignBody } from '../../core/schemas/campaigns';
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
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
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
  send_window AS "window", timezone, start_at AS "startAt", limits, created_at AS "createdAt",
  started_at AS "startedAt", finished_at AS "finishedAt"
  FROM campaigns`;

export async function createCampaign(pool: Pool, clientId: string, c: CreateCampaignBody): Promise<CampaignRecord> {
  const id = uuidv7();
  await pool.query(
    `INSERT INTO campaigns (id, client_id, name, steps, mailbox_selector, send_window, timezone, start_at, limits)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      id,
      clientId,
      c.name,
      JSON.stringify(c.steps),
      JSON.stringify(c.mailboxes),
      c.window ? JSON.stringify(c.window) : null,
      c.timezone ?? null,
      c.startAt ?? null,
      c.limits ? JSON.stringify(c.limits) : null,
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

/** Compare-and-set on status: returns false when the campaign is not in one of `from`. */
export async function transitionCampaign(
  pool: Pool | PoolClient,
  clientId: string,
  id: string,
  from: CampaignStatus[],
  to: CampaignStatus,
): Promise<boolean> {
  const { rowCount } = await pool.query(
    `UPDATE campaigns SET status = $4,
       started_at = CASE WHEN $4 = 'running' AND started_at IS NULL THEN now() ELSE started_at END,
       finished_at = CASE WHEN $4 IN ('completed', 'cancelled') THEN now() ELSE finished_at END
     WHERE id = $1 AND client_id = $2 AND status = ANY($3::text[])`,
    [id, clientId, from, to],
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
