import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { conflict, notFound } from '../../core/errors';
import { getCampaign, transitionCampaign } from '../../db/repositories/campaigns';
import type { CampaignStatus } from '../../core/schemas/campaigns';
import {
  campaignWorkflow,
  cancelCampaignUpdate,
  pauseCampaignUpdate,
  resumeCampaignUpdate,
} from '../../workflows/campaign.workflow';
import { campaignWorkflowId } from '../../workflows/ids';
import { SA_CAMPAIGN, SA_CLIENT, SA_STATUS } from '../../workflows/search-attributes';

/**
 * draft → running, then starts campaign-<id>. Starting a running campaign is
 * a deliberate 409; if the workflow cannot start, the status is put back.
 */
export async function startCampaign(
  pool: Pool,
  temporal: Client,
  taskQueue: string,
  clientId: string,
  campaignId: string,
): Promise<void> {
  const campaign = await getCampaign(pool, clientId, campaignId);
  if (!campaign) throw notFound('campaign');
  if (!(await transitionCampaign(pool, clientId, campaignId, ['draft'], 'running'))) {
    throw conflict(`campaign is ${campaign.status}; only a draft campaign can start`);
  }
  try {
    await temporal.workflow.start(campaignWorkflow, {
      taskQueue,
      workflowId: campaignWorkflowId(campaignId),
      args: [{ campaignId, clientId }],
      typedSearchAttributes: [
        { key: SA_CLIENT, value: clientId },
        { key: SA_CAMPAIGN, value: campaignId },
        { key: SA_STATUS, value: 'running' },
      ],
      staticSummary: `Campaign "${campaign.name}"`,
    });
  } catch (err) {
    await transitionCampaign(pool, clientId, campaignId, ['running'], 'draft');
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw conflict('campaign workflow already exists');
    throw err;
  }
}

type Transition = { from: CampaignStatus[]; to: CampaignStatus; update: typeof pauseCampaignUpdate };

const TRANSITIONS: Record<'pause' | 'resume' | 'cancel', Transition> = {
  pause: { from: ['running'], to: 'paused', update: pauseCampaignUpdate },
  resume: { from: ['paused'], to: 'running', update: resumeCampaignUpdate },
  cancel: { from: ['draft', 'running', 'paused'], to: 'cancelled', update: cancelCampaignUpdate },
};

/**
 * Pause, resume or cancel: the workflow acknowledges first (after a pause
 * returns, no send starts), then the row follows. An impossible transition
 * (resume a running campaign, pause a finished one) is a 409.
 */
export async function steerCampaign(
  pool: Pool,
  temporal: Client,
  clientId: string,
  campaignId: string,
  action: keyof typeof TRANSITIONS,
): Promise<CampaignStatus> {
  const campaign = await getCampaign(pool, clientId, campaignId);
  if (!campaign) throw notFound('campaign');
  const t = TRANSITIONS[action];
  if (!t.from.includes(campaign.status)) {
    throw conflict(`cannot ${action} a ${campaign.status} campaign`);
  }
  if (campaign.status !== 'draft') {
    await temporal.workflow.getHandle(campaignWorkflowId(campaignId)).executeUpdate(t.update, { args: [] });
  }
  if (!(await transitionCampaign(pool, clientId, campaignId, t.from, t.to))) {
    throw conflict('the campaign changed meanwhile; try again');
  }
  return t.to;
}
