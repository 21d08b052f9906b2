import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Pool } from 'pg';
import { notifyAlert, recordAlert, type AlertLogger } from './alerts';
import type { AlertRow } from '../db/repositories/alerts';
import { liveCampaignPage, markCampaignFailed, type LiveCampaign } from '../db/repositories/campaigns';
import { campaignWorkflowId } from '../workflows/ids';
import {
  judgeCampaign,
  type CampaignFailedDecision,
  type CampaignHealthInput,
  type CampaignWorkflowState,
} from '../workflows/policy/campaign-health';

/**
 * The campaign row never lies: a running or paused row whose workflow
 * (campaign-<id>) closed unexpectedly becomes 'failed', with the reason and
 * one alert. Used by GET /v1/campaigns/:id (at once) and by the reputation
 * controller (every 15 minutes, over every campaign); the judgement itself is
 * workflows/policy/campaign-health.ts.
 */
export interface CampaignHealthDeps {
  pool: Pool;
  temporal: Client;
  log: AlertLogger;
  alertWebhookUrl?: string;
}

export const CAMPAIGN_FAILED_ALERT = 'campaign_failed';

/** How the close event tells why: a termination's reason, a failure's message. */
async function closeDetail(client: Client, workflowId: string, runId: string): Promise<string | null> {
  const res = await client.workflowService.getWorkflowExecutionHistory({
    namespace: client.options.namespace,
    execution: { workflowId, runId },
    historyEventFilterType: temporal.api.enums.v1.HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
  });
  const ev = res.history?.events?.[0];
  if (!ev) return null;
  if (ev.workflowExecutionTerminatedEventAttributes) return ev.workflowExecutionTerminatedEventAttributes.reason || null;
  const failure = ev.workflowExecutionFailedEventAttributes?.failure;
  if (failure) return [failure.message, failure.cause?.message].filter(Boolean).join(': ') || null;
  return null;
}

/** Asks Temporal how the campaign's workflow stands (its latest run). Never throws: 'unknown' when Temporal does not answer. */
export async function observeCampaignWorkflow(client: Client, campaignId: string): Promise<CampaignWorkflowState> {
  const workflowId = campaignWorkflowId(campaignId);
  try {
    const desc = await client.workflow.getHandle(workflowId).describe();
    const closedAt = desc.closeTime?.getTime() ?? 0;
    const how = ({ FAILED: 'failed', TERMINATED: 'terminated', TIMED_OUT: 'timed_out', CANCELLED: 'cancelled' } as const)[
      desc.status.name as 'FAILED'
    ];
    if (how) {
      const detail = await closeDetail(client, workflowId, desc.runId).catch(() => null);
      return { kind: 'closed', how, closedAt, detail };
    }
    if (desc.status.name === 'COMPLETED') return { kind: 'completed', closedAt };
    if (desc.status.name === 'UNKNOWN' || desc.status.name === 'UNSPECIFIED') return { kind: 'unknown', error: `status ${desc.status.name}` };
    return { kind: 'open' }; // RUNNING, PAUSED; CONTINUED_AS_NEW is never the latest run
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { kind: 'not_found' };
    return { kind: 'unknown', error: (err as Error).message };
  }
}

/** The judge's input for one live campaign: its row and its workflow, observed now. */
export async function observeCampaign(client: Client, c: LiveCampaign): Promise<CampaignHealthInput> {
  return { campaignId: c.id, clientId: c.clientId, statusChangedAt: c.statusChangedAt.getTime(), workflow: await observeCampaignWorkflow(client, c.id) };
}

/**
 * Records one failure: the row (compare-and-set on what was judged) and its
 * alert in one transaction, the webhook after the commit. False when another
 * caller got there first or the row has moved on: one alert per failure.
 */
export async function recordCampaignFailure(deps: CampaignHealthDeps, d: CampaignFailedDecision): Promise<boolean> {
  const db = await deps.pool.connect();
  let alert: AlertRow | null = null;
  try {
    await db.query('BEGIN');
    if (await markCampaignFailed(db, d.campaignId, d.reason, new Date(d.seenChangedAt))) {
      alert = await recordAlert(db, deps.log, {
        clientId: d.clientId,
        kind: CAMPAIGN_FAILED_ALERT,
        subjectType: 'campaign',
        subjectId: d.campaignId,
        message: `campaign ${d.campaignId} failed: ${d.reason}`,
      });
    }
    await db.query('COMMIT');
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    db.release();
  }
  if (alert) await notifyAlert(deps.alertWebhookUrl, deps.log, alert);
  return alert !== null;
}

/** One campaign, now: observe its workflow, judge, record a failure. Returns what was observed and the failure, if any. */
export async function checkCampaign(
  deps: CampaignHealthDeps,
  c: LiveCampaign,
  now = Date.now(),
): Promise<{ workflow: CampaignWorkflowState; failure: CampaignFailedDecision | null }> {
  const input = await observeCampaign(deps.temporal, c);
  const failure = judgeCampaign(input, now);
  if (failure) await recordCampaignFailure(deps, failure);
  return { workflow: input.workflow, failure };
}

/** Campaigns per page of the controller's check; each costs one describe (plus one close-event read if closed). */
export const CAMPAIGN_HEALTH_PAGE = 200;
const OBSERVE_CONCURRENCY = 8;

/** One page of live campaigns with their workflows observed, and where the next page starts (null on the last). */
export async function observeCampaignPage(
  deps: Pick<CampaignHealthDeps, 'pool' | 'temporal'>,
  afterId: string | null,
  limit = CAMPAIGN_HEALTH_PAGE,
): Promise<{ campaigns: CampaignHealthInput[]; nextCampaignId: string | null }> {
  const rows = await liveCampaignPage(deps.pool, afterId, limit);
  const campaigns: CampaignHealthInput[] = new Array(rows.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(OBSERVE_CONCURRENCY, rows.length) }, async () => {
      while (next < rows.length) {
        const i = next++;
        campaigns[i] = await observeCampaign(deps.temporal, rows[i]!);
      }
    }),
  );
  return { campaigns, nextCampaignId: rows.length === limit ? rows[rows.length - 1]!.id : null };
}
