import { continueAsNew, log, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { SA_STATUS } from './search-attributes';

const data = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 10, initialInterval: '1 second', maximumInterval: '1 minute' },
});

const sends = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: {
    initialInterval: '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: '10 minutes',
    maximumAttempts: 8, // capped: a send never retries forever
    nonRetryableErrorTypes: ['SenderMisconfigured', 'NotFound'],
  },
});

export interface CampaignWorkflowInput {
  campaignId: string;
  clientId: string;
  /** Carried across continue-as-new. */
  cursor?: string | null;
  sent?: number;
  failed?: number;
  nextMailbox?: number;
}

export interface CampaignProgress {
  sent: number;
  failed: number;
  cursor: string | null;
}

const PAGE_SIZE = 50;

/**
 * Pages through a campaign's pending leads and sends step 0 of each, spread
 * round-robin over the campaign's mailboxes. History stays bounded: the
 * workflow continues-as-new when Temporal suggests it.
 */
export async function campaignWorkflow(input: CampaignWorkflowInput): Promise<CampaignProgress> {
  const plan = await data.loadCampaignPlan({ campaignId: input.campaignId });
  let cursor = input.cursor ?? null;
  let sent = input.sent ?? 0;
  let failed = input.failed ?? 0;
  let next = input.nextMailbox ?? 0;
  upsertSearchAttributes([{ key: SA_STATUS, value: 'running' }]);

  if (plan.mailboxIds.length === 0) {
    log.warn('campaign has no usable mailbox', { campaignId: input.campaignId });
    return { sent, failed, cursor };
  }

  for (;;) {
    const page = await data.pendingLeadPage({ campaignId: input.campaignId, afterId: cursor, limit: PAGE_SIZE });
    if (page.length === 0) break;
    const results = await Promise.allSettled(
      page.map((leadId) => {
        const mailboxId = plan.mailboxIds[next++ % plan.mailboxIds.length]!;
        return sends.sendStep({ campaignId: input.campaignId, leadId, step: 0, mailboxId });
      }),
    );
    for (const r of results) {
      if (r.status === 'fulfilled' && r.value.status === 'sent') sent++;
      else failed++;
    }
    cursor = page[page.length - 1]!;
    if (workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof campaignWorkflow>({ ...input, cursor, sent, failed, nextMailbox: next });
    }
  }

  await data.completeCampaign({ campaignId: input.campaignId, clientId: input.clientId });
  upsertSearchAttributes([{ key: SA_STATUS, value: 'completed' }]);
  return { sent, failed, cursor };
}
