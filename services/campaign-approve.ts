import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { conflict, notFound } from '../core/errors';
import { withTransaction } from '../db/pool';
import { getCampaign, transitionCampaign } from '../db/repositories/campaigns';
import { releaseHeld } from '../db/repositories/staging';
import { startCampaignWorkflow } from './campaign';
import { campaignWorkflowId } from '../workflows/ids';

/** How long an approval waits for the sample's run to close (it has marked the row and is finishing). */
const SAMPLE_RUN_CLOSE_MS = 30_000;

async function within<T>(ms: number, work: Promise<T>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work, new Promise<void>((resolve) => { timer = setTimeout(resolve, ms); })]);
  clearTimeout(timer);
}

/**
 * awaiting_approval → running: the held leads go on and the campaign's
 * workflow starts again. Anything else is a 409. If the workflow cannot start,
 * the campaign is held again as it was.
 */
export async function approveCampaign(pool: Pool, temporal: Client, taskQueue: string, clientId: string, campaignId: string): Promise<'running'> {
  const campaign = await getCampaign(pool, clientId, campaignId);
  if (!campaign) throw notFound('campaign');
  if (campaign.status !== 'awaiting_approval') throw conflict(`cannot approve a ${campaign.status} campaign; only one awaiting approval`);
  const moved = await withTransaction(pool, async (tx) => {
    if (!(await transitionCampaign(tx, clientId, campaignId, ['awaiting_approval'], 'running'))) return false;
    await releaseHeld(tx, campaignId);
    return true;
  });
  if (!moved) throw conflict('the campaign changed meanwhile; try again');
  const now = (await getCampaign(pool, clientId, campaignId)) ?? campaign;
  try {
    try {
      await startCampaignWorkflow(temporal, taskQueue, now);
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      // The sample's run marks the row, then closes: an approval in between waits for it to close, then starts the rest.
      await within(SAMPLE_RUN_CLOSE_MS, temporal.workflow.getHandle(campaignWorkflowId(campaignId)).result().catch(() => undefined));
      await startCampaignWorkflow(temporal, taskQueue, now);
    }
  } catch (err) {
    await withTransaction(pool, async (tx) => {
      await tx.query(
        `UPDATE leads SET status = 'held' WHERE campaign_id = $1 AND status IN ('pending', 'active')`, // all of them were held
        [campaignId],
      );
      await tx.query(`UPDATE campaigns SET stage = 'sample' WHERE id = $1`, [campaignId]);
      await transitionCampaign(tx, clientId, campaignId, ['running'], 'awaiting_approval');
    });
    throw err;
  }
  return 'running';
}
