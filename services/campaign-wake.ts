import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { runningCampaignsUsingMailbox } from '../db/repositories/campaigns';
import { campaignWorkflowId } from '../workflows/ids';
import { wakeCampaignSignal } from '../workflows/messages/campaign';

type WarnLogger = { warn(obj: object, msg: string): void };

/**
 * Tells a running campaign that new work may be there (leads uploaded, a
 * mailbox back), so its idle lanes look again and a stalled campaign starts a
 * round: campaigns wait for this signal instead of polling. Best effort: a
 * campaign whose workflow has ended needs no wake.
 */
export async function wakeCampaign(temporal: Client, campaignId: string, logger?: WarnLogger): Promise<void> {
  try {
    await temporal.workflow.getHandle(campaignWorkflowId(campaignId)).signal(wakeCampaignSignal);
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) logger?.warn({ campaignId, err: (err as Error).message }, 'could not wake campaign');
  }
}

/** Wakes every running campaign that may send through this mailbox (after it was resumed). */
export async function wakeCampaignsUsingMailbox(pool: Pool, temporal: Client, mailboxId: string, logger?: WarnLogger): Promise<number> {
  const ids = await runningCampaignsUsingMailbox(pool, mailboxId);
  await Promise.all(ids.map((id) => wakeCampaign(temporal, id, logger)));
  return ids.length;
}
