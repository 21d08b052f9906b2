import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { conflict, notFound } from '../core/errors';
import { getCampaign, restoreCampaignFailed, startDraftCampaign, transitionCampaign, type CampaignRecord } from '../db/repositories/campaigns';
import { waitForClaimedSends } from '../db/repositories/sends';
import type { CampaignStatus, StartCampaignBody } from '../core/schemas/campaigns';
import { modeLabel } from '../workflows/summaries';
import { prepareRunMode, undoRunMode } from './campaign-staging';
import type { campaignWorkflow } from '../workflows/campaign.workflow';
import {
  cancelCampaignUpdate,
  pauseCampaignUpdate,
  progressQuery,
  resumeCampaignUpdate,
  type CampaignProgress,
} from '../workflows/messages/campaign';
import { openLanes } from '../db/repositories/campaign-lanes';
import { campaignWorkflowId } from '../workflows/ids';
import type { LaneView, NextSend, WaitReason } from '../workflows/messages/campaign';
import { SA_CAMPAIGN, SA_CLIENT, SA_STATUS } from '../workflows/search-attributes';

/** Starts campaign-<id> (a closed run's id is reused: Temporal's default id reuse policy allows it). */
export async function startCampaignWorkflow(temporal: Client, taskQueue: string, campaign: CampaignRecord): Promise<void> {
  const mode = modeLabel(campaign);
  await temporal.workflow.start<typeof campaignWorkflow>('campaignWorkflow', {
    taskQueue,
    workflowId: campaignWorkflowId(campaign.id),
    args: [{ campaignId: campaign.id, clientId: campaign.clientId }],
    typedSearchAttributes: [
      { key: SA_CLIENT, value: campaign.clientId },
      { key: SA_CAMPAIGN, value: campaign.id },
      { key: SA_STATUS, value: 'running' },
    ],
    staticSummary: `Campaign "${campaign.name}"${mode ? ` · ${mode}` : ''}`,
  });
}

/**
 * draft → running (pinning its templates' versions), then starts
 * campaign-<id>. Starting a running campaign is a deliberate 409, and so is
 * a draft whose step names a deleted template; if the workflow cannot start,
 * the status is put back.
 */
export async function startCampaign(
  pool: Pool,
  temporal: Client,
  taskQueue: string,
  clientId: string,
  campaignId: string,
  /** Dry run or staged start (services/campaign-staging.ts); live when omitted. */
  how: StartCampaignBody = { mode: 'live' },
): Promise<void> {
  const campaign = await getCampaign(pool, clientId, campaignId);
  if (!campaign) throw notFound('campaign');
  // The versions of its templates it sends from now on are pinned with the transition (an edit later makes a new version);
  // the run mode (and a staged start's sample) is set in the same transaction.
  const started = await startDraftCampaign(pool, clientId, campaignId, prepareRunMode(campaignId, how));
  if ('refused' in started) throw conflict(`campaign is ${campaign.status}; only a draft campaign can start`);
  if ('missing' in started) {
    throw conflict('a step\'s template was deleted', started.missing.map((path) => ({ path, message: 'this template was deleted; edit the step' })));
  }
  try {
    await startCampaignWorkflow(temporal, taskQueue, (await getCampaign(pool, clientId, campaignId)) ?? campaign);
  } catch (err) {
    await undoRunMode(pool, campaignId);
    await transitionCampaign(pool, clientId, campaignId, ['running'], 'draft');
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw conflict('campaign workflow already exists');
    throw err;
  }
}

type Transition = { from: CampaignStatus[]; to: CampaignStatus; update: typeof pauseCampaignUpdate };

const TRANSITIONS: Record<'pause' | 'resume' | 'cancel', Transition> = {
  pause: { from: ['running'], to: 'paused', update: pauseCampaignUpdate },
  resume: { from: ['paused'], to: 'running', update: resumeCampaignUpdate },
  cancel: { from: ['draft', 'running', 'paused', 'failed', 'awaiting_approval'], to: 'cancelled', update: cancelCampaignUpdate },
};

/** How long a pause or cancel waits for sends already past their claim to finish. */
const IN_FLIGHT_WAIT_MS = 30_000;

/**
 * Pause, resume or cancel. The row changes first: from its commit on no send
 * can be claimed (claimSend requires a running campaign and locks the row
 * against this change), then the workflow acknowledges, then a pause or
 * cancel waits for sends claimed before it to finish, so none starts after
 * the call returns. An impossible transition (resume a running campaign,
 * pause a finished one) is a 409.
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
  if (!(await transitionCampaign(pool, clientId, campaignId, t.from, t.to))) {
    throw conflict('the campaign changed meanwhile; try again');
  }
  // A draft has no workflow yet; a failed campaign's has closed, and so has the sample run of one awaiting approval.
  if (campaign.status !== 'draft' && campaign.status !== 'failed' && campaign.status !== 'awaiting_approval') {
    try {
      await temporal.workflow.getHandle(campaignWorkflowId(campaignId)).executeUpdate(t.update, { args: [] });
    } catch (err) {
      // The workflow has ended: a cancel stands; anything else is put back (a
      // finished campaign's row is already 'completed', so that is a no-op).
      if (err instanceof WorkflowNotFoundError && action === 'cancel') return t.to;
      await transitionCampaign(pool, clientId, campaignId, [t.to], campaign.status);
      if (err instanceof WorkflowNotFoundError) throw conflict('the campaign has finished');
      throw err;
    }
  }
  if (action !== 'resume') await waitForClaimedSends(pool, campaignId, IN_FLIGHT_WAIT_MS);
  return t.to;
}

/**
 * Resume: a paused campaign through its workflow (steerCampaign); a failed
 * one (its workflow closed unexpectedly) by starting its workflow again, same
 * id and input. failed → running first, so sends can be claimed; then the
 * new run starts and takes every lead not yet sent (a mailbox drops a slot
 * the dead run still held as soon as the new run's lane asks: ReserveRequest.holder). Leads already sent are not sent again: the
 * (lead, step) intent row is unique and a claimed one is never re-sent
 * (activities/send-step.activity.ts). If the start fails the row is failed
 * again, with its reason. Any other status is a 409.
 */
export async function resumeCampaign(
  pool: Pool,
  temporal: Client,
  taskQueue: string,
  clientId: string,
  campaignId: string,
): Promise<CampaignStatus> {
  const campaign = await getCampaign(pool, clientId, campaignId);
  if (!campaign) throw notFound('campaign');
  if (campaign.status !== 'failed') return steerCampaign(pool, temporal, clientId, campaignId, 'resume');
  if (!(await transitionCampaign(pool, clientId, campaignId, ['failed'], 'running'))) {
    throw conflict('the campaign changed meanwhile; try again');
  }
  try {
    await startCampaignWorkflow(temporal, taskQueue, campaign);
  } catch (err) {
    // Already started: a run is open, which is what the row now says.
    if (err instanceof WorkflowExecutionAlreadyStartedError) return 'running';
    await restoreCampaignFailed(pool, clientId, campaignId, campaign.failureReason, campaign.failedAt);
    throw err;
  }
  return 'running';
}

/** The campaign's live view: the workflow's status, what its groups sent, and when the next send is due and why. */
export interface CampaignLiveProgress extends CampaignProgress {
  nextSend: NextSend | null;
}

/** Resolves to null when `work` does not settle within ms. */
async function within<T>(ms: number, work: Promise<T>): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), ms);
  });
  try {
    return await Promise.race([work.catch(() => null), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The earliest wait among lanes (a lane at work means a send is under way now). */
export function nextSendOf(lanes: LaneView[], nowMs: number): NextSend | null {
  let best: NextSend | null = null;
  let bestAt = Infinity;
  for (const l of lanes) {
    if (l.state === 'ended') continue;
    const at = l.state === 'waiting' || l.state === 'idle' ? (l.until ?? nowMs) : nowMs;
    const reason = (l.state === 'waiting' || l.state === 'idle') && l.reason ? l.reason : 'pacing';
    if (at < bestAt) {
      bestAt = at;
      best = { at: new Date(Math.max(at, nowMs)).toISOString(), reason: reason as WaitReason };
    }
  }
  return best;
}

/**
 * The running campaign's live view: its workflow's status (running, paused,
 * stalled, waiting for its start), the sends made, failed and in flight (the
 * database's counts, passed in), and the next send (when, and why it waits),
 * or null when there is no open workflow or it does not answer within
 * timeoutMs.
 */
export async function campaignProgress(
  temporal: Client,
  pool: Pool,
  campaignId: string,
  counts: { sent: number; failed: number; inFlight: number },
  timeoutMs = 2000,
): Promise<CampaignLiveProgress | null> {
  // One query, to the campaign's own workflow (it only starts groups and waits on them); the lanes' states come
  // from PostgreSQL (campaign_lanes), never from a query per group: one read must not cost a workflow task per group.
  const parent = await within(timeoutMs, temporal.workflow.getHandle(campaignWorkflowId(campaignId)).query(progressQuery));
  if (!parent) return null;
  const lanes = await openLanes(pool, campaignId);
  const nextSend: NextSend | null =
    parent.startsAt ? { at: parent.startsAt, reason: 'start_time' }
    : parent.status === 'paused' ? { at: null, reason: 'paused' }
    : parent.status === 'stalled' ? { at: null, reason: 'mailboxes_stopped' }
    : nextSendOf(lanes, Date.now());
  return { ...parent, ...counts, nextSend };
}
