/**
 * What each mailbox lane of a campaign is doing (campaign_lanes), as its
 * reservation activity last saw it. GET /v1/campaigns/:id reads the next send
 * from here: asking every group workflow by query would cost a workflow task
 * per group per read (a replay when the group is not cached), and a query
 * that reaches a busy workflow between its events and its next task is
 * applied at that task's old clock.
 */
import type { Pool } from 'pg';
import type { LaneView } from '../../core/types';

export type LaneState = LaneView & { state: Exclude<LaneView['state'], 'reserving'> };

export async function recordLane(pool: Pool, campaignId: string, lane: LaneState): Promise<void> {
  await pool.query(
    `INSERT INTO campaign_lanes (campaign_id, mailbox_id, state, until, reason, updated_at)
     VALUES ($1, $2, $3, $4, $5, now())
     ON CONFLICT (campaign_id, mailbox_id) DO UPDATE
       SET state = EXCLUDED.state, until = EXCLUDED.until, reason = EXCLUDED.reason, updated_at = now()`,
    [campaignId, lane.mailboxId, lane.state, lane.until === null ? null : new Date(lane.until), lane.reason],
  );
}

/** The campaign's lanes that have not ended. */
export async function openLanes(pool: Pool, campaignId: string): Promise<LaneView[]> {
  const { rows } = await pool.query<{ mailbox_id: string; state: LaneView['state']; until: Date | null; reason: string | null }>(
    "SELECT mailbox_id, state, until, reason FROM campaign_lanes WHERE campaign_id = $1 AND state <> 'ended'",
    [campaignId],
  );
  return rows.map((r) => ({ mailboxId: r.mailbox_id, state: r.state, until: r.until?.getTime() ?? null, reason: r.reason as LaneView['reason'] }));
}
