/**
 * A campaign's new-leads-per-day quota (limits.newLeadsPerDay): how many
 * leads may still get their first step in the campaign's current local day.
 *
 * What counts as a lead started: a step-0 send intent of the campaign (a
 * `sends` row with step = 0, see sends.ts claimSend) whose intent was
 * recorded (created_at) in that local day, in any status except 'pending'.
 * A 'pending' row was written but never claimed (its campaign paused between
 * the insert and the claim), so no provider saw it; every other status
 * ('sending', 'sent', 'delivered', 'failed', 'unknown', 'bounced',
 * 'complained') was claimed for an attempt and used up the day's allowance,
 * whatever came of it. A pending row claimed on a later day still counts on
 * the day its intent was recorded.
 *
 * The local day is read in the campaign's timezone (UTC when none), with the
 * same calendar rules as the mailbox policy (23- and 25-hour DST days).
 * The instant is a parameter, never the database's now(), so a caller (a
 * workflow activity passing workflow time, a test compressing days) decides
 * which day it is. A read only: callers that start leads concurrently
 * serialize themselves (e.g. one campaign workflow asks before each batch),
 * or lock the campaign row in the transaction they pass in.
 */
import type { Pool, PoolClient } from 'pg';
import { DEFAULT_CAMPAIGN_TIMEZONE } from '../../core/schemas/campaigns';
import { localDayBounds } from '../../workflows/policy/time-zone';

export interface NewLeadQuota {
  /** limits.newLeadsPerDay */
  limit: number;
  /** Leads started (step-0 intents claimed) in the current local day. */
  used: number;
  /** limit - used, never below 0: how many more may start before dayEnd. */
  remaining: number;
  /** [dayStart, dayEnd): the campaign's current local day, epoch ms. */
  dayStart: number;
  /** When the day ends and the quota is whole again (the next local midnight). */
  dayEnd: number;
  /** The zone the day is read in: the campaign's, or 'UTC'. */
  timezone: string;
}

/**
 * The quota of `campaignId` at `nowMs`; null when the campaign has no
 * newLeadsPerDay limit (or does not exist). Accepts a pool or the client of
 * an open transaction.
 */
export async function newLeadQuota(db: Pool | PoolClient, campaignId: string, nowMs: number): Promise<NewLeadQuota | null> {
  const { rows } = await db.query<{ limit: number | null; timezone: string | null }>(
    `SELECT (limits->>'newLeadsPerDay')::int AS "limit", timezone FROM campaigns WHERE id = $1`,
    [campaignId],
  );
  const c = rows[0];
  if (!c || c.limit === null) return null;
  const timezone = c.timezone ?? DEFAULT_CAMPAIGN_TIMEZONE;
  const { start, end } = localDayBounds(nowMs, timezone);
  const counted = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM sends
     WHERE campaign_id = $1 AND step = 0 AND status <> 'pending' AND created_at >= $2 AND created_at < $3`,
    [campaignId, new Date(start), new Date(end)],
  );
  const used = counted.rows[0]?.n ?? 0;
  return { limit: c.limit, used, remaining: Math.max(0, c.limit - used), dayStart: start, dayEnd: end, timezone };
}
