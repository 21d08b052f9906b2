/**
 * Whether a campaign whose row says running or paused has in fact failed:
 * its workflow (campaign-<id>) closed other than by completing, or is gone.
 * Pure: the caller observes the workflow and the row, and passes the time.
 */

/** How a campaign's workflow stands, as observed (services/campaign-health.ts). */
export type CampaignWorkflowState =
  /** Running (its latest run; a continue-as-new is open too). */
  | { kind: 'open' }
  /** Returned normally: the workflow itself settles the row (completed or cancelled). */
  | { kind: 'completed'; closedAt: number }
  | { kind: 'closed'; how: 'failed' | 'terminated' | 'timed_out' | 'cancelled'; closedAt: number; detail: string | null }
  /** No workflow with that id at all (never started, or past retention). */
  | { kind: 'not_found' }
  /** It could not be asked (Temporal unreachable): no judgement. */
  | { kind: 'unknown'; error: string };

export interface CampaignHealthInput {
  campaignId: string;
  clientId: string;
  /** When the row last changed status (ms since the epoch). */
  statusChangedAt: number;
  workflow: CampaignWorkflowState;
}

export interface CampaignFailedDecision {
  campaignId: string;
  clientId: string;
  reason: string;
  /** The row's status change this judgement saw: the row is marked only if it has not changed since. */
  seenChangedAt: number;
}

/**
 * A row that has said running/paused for less than this is not judged on a
 * workflow that is missing, or that closed before the row changed: the API
 * sets the row first and starts (or restarts) the workflow right after.
 */
export const CAMPAIGN_START_GRACE_MS = 2 * 60_000;

/** Longest failure detail kept in a reason (a workflow failure message can be long). */
const DETAIL_MAX = 500;

const HOW: Record<Extract<CampaignWorkflowState, { kind: 'closed' }>['how'], string> = {
  failed: 'failed',
  terminated: 'terminated',
  timed_out: 'timed out',
  cancelled: 'cancelled',
};

function detailOf(detail: string | null): string {
  if (!detail) return '';
  const d = detail.trim();
  return d ? `: ${d.length > DETAIL_MAX ? `${d.slice(0, DETAIL_MAX)}…` : d}` : '';
}

/** The failure to record for one campaign, or null when its row may stand. */
export function judgeCampaign(c: CampaignHealthInput, now: number): CampaignFailedDecision | null {
  const w = c.workflow;
  const settled = now - c.statusChangedAt >= CAMPAIGN_START_GRACE_MS;
  let reason: string | null = null;
  if (w.kind === 'closed') {
    // A run that closed before the row last changed is an earlier one (a restart is under way), until the grace is over.
    if (w.closedAt >= c.statusChangedAt || settled) reason = `workflow ${HOW[w.how]}${detailOf(w.detail)}`;
  } else if (w.kind === 'not_found') {
    if (settled) reason = 'workflow not found';
  }
  return reason === null ? null : { campaignId: c.campaignId, clientId: c.clientId, reason, seenChangedAt: c.statusChangedAt };
}

/** The campaigns of one page that have failed. */
export function decideCampaignHealth(campaigns: CampaignHealthInput[], now: number): CampaignFailedDecision[] {
  return campaigns.flatMap((c) => {
    const d = judgeCampaign(c, now);
    return d ? [d] : [];
  });
}
