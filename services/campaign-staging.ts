/**
 * Dry runs and staged starts (issue 14): what a start sets up for each mode,
 * and the approval of a staged campaign.
 *
 * A staged start sends to its sample (chooseSample: ceil(sample × leads), at
 * least one, by hash) through the whole campaign path; each sample lead's
 * next step is held. When nothing of the sample is left, the campaign's
 * workflow completes and the row says 'awaiting_approval': no workflow stays
 * open, nothing polls. Approve releases the held leads and starts the
 * campaign's workflow again (same id); no lead gets a step twice (the (lead,
 * step) intent row is unique; services/campaign-approve.ts). Cancel ends it there.
 */
import type { Pool, PoolClient } from 'pg';
import type { StartCampaignBody } from '../core/schemas/campaigns';
import { withTransaction } from '../db/pool';
import { chooseSample, setRunMode } from '../db/repositories/staging';

/** What a start does inside its transaction for its mode. */
export function prepareRunMode(campaignId: string, how: StartCampaignBody): ((tx: PoolClient) => Promise<void>) | undefined {
  if (how.mode === 'live') return undefined;
  const mode = how.mode;
  const sample = how.mode === 'staged' ? how.sample : null;
  return async (tx) => {
    await setRunMode(tx, campaignId, mode, sample);
    if (sample !== null) await chooseSample(tx, campaignId, sample);
  };
}

/** A start whose workflow could not start goes back to a live draft with every lead pending. */
export async function undoRunMode(pool: Pool, campaignId: string): Promise<void> {
  await withTransaction(pool, async (tx) => {
    await tx.query(`UPDATE leads SET status = 'pending', in_sample = false WHERE campaign_id = $1 AND status = 'held'`, [campaignId]);
    await tx.query(`UPDATE leads SET in_sample = false WHERE campaign_id = $1`, [campaignId]);
    await setRunMode(tx, campaignId, 'live', null);
  });
}
