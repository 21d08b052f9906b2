import {
  allHandlersFinished,
  type ChildWorkflowHandle,
  condition,
  continueAsNew,
  log,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { legacyCampaignRun } from './campaign-legacy';
import { campaignGroupWorkflow } from './campaign-group.workflow';
import { campaignGroupWorkflowId } from './ids';
import { LONG_RUN_TASK_TIMEOUT } from './run-limits';
import {
  cancelCampaignUpdate,
  groupControlSignal,
  pauseCampaignUpdate,
  progressQuery,
  resumeCampaignUpdate,
  wakeCampaignSignal,
  type CampaignGroupResult,
  type CampaignProgress,
  type CampaignRunStatus,
  type CampaignWorkflowInput,
  type GroupControl,
  type LaneMailbox,
} from './messages/campaign';
import { SA_CAMPAIGN, SA_CLIENT, SA_STATUS } from './search-attributes';

export {
  cancelCampaignUpdate,
  pauseCampaignUpdate,
  progressQuery,
  resumeCampaignUpdate,
  wakeCampaignSignal,
  type CampaignProgress,
  type CampaignRunStatus,
  type CampaignWorkflowInput,
} from './messages/campaign';

const data = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 10, initialInterval: '1 second', maximumInterval: '1 minute' },
});

/** Mailboxes (lanes) per child group: a group's run stays far under Temporal's per-workflow limits, and 10,000 mailboxes make 400 children. */
export const GROUP_SIZE = 25;
/** The patch that moved campaign runs from one workflow with a lane per mailbox to child groups. */
export const CAMPAIGN_GROUPS_PATCH = 'campaign-groups';
/** Rounds in a row with a failed group that start again at once. */
const MAX_FAILED_ROUNDS = 3;

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Sends every step of a campaign's sequence, in rounds. A round loads the
 * plan (the pool's usable mailboxes; unassigned new leads spread over them by
 * load) and runs it as child groups of GROUP_SIZE lanes
 * (campaignGroupWorkflow), one lane per mailbox. A round ends when every
 * lane has ended: no work left for it, its mailbox stopped or failed. Then:
 * nothing left, the campaign completes; work left that another round can take
 * (a mailbox failed and gave its leads back, leads were added), another
 * round; otherwise it is stalled and waits for a wake (leads uploaded, a
 * mailbox resumed) with no timer.
 *
 * Pause, resume and cancel are Updates here and reach every group by signal;
 * the database row is what stops a send from being claimed (see
 * services/campaign.ts). History: a round costs a few events per group,
 * and the run continues as new between rounds when Temporal suggests it.
 */
export async function campaignWorkflow(input: CampaignWorkflowInput): Promise<CampaignProgress> {
  // Runs recorded before child groups replay (and finish) on their own code.
  if (!patched(CAMPAIGN_GROUPS_PATCH)) return legacyCampaignRun(input);

  let sent = input.sent ?? 0;
  let failed = input.failed ?? 0;
  let paused = input.paused ?? false;
  let cancelled = false;
  let woken = false;
  let stalled = false;
  let round = input.round ?? 0;
  let groups: ChildWorkflowHandle<typeof campaignGroupWorkflow>[] = [];
  let startsAt: number | null = null;
  /** Rounds in a row in which a group failed: a few are retried at once, then the campaign waits for a wake. */
  let failedRounds = 0;

  const status = (): CampaignRunStatus => (cancelled ? 'cancelled' : paused ? 'paused' : stalled ? 'stalled' : 'running');
  const progress = (): CampaignProgress => ({
    status: status(),
    sent,
    failed,
    inFlight: 0,
    round,
    groups: groups.length,
    ...(startsAt !== null ? { startsAt: new Date(startsAt).toISOString() } : {}),
  });
  const setStatus = (s: CampaignRunStatus) => upsertSearchAttributes([{ key: SA_STATUS, value: s }]);

  /** Tells every running group; a group that has already finished cannot hear it and need not. */
  async function tellGroups(control: GroupControl): Promise<void> {
    await Promise.all(groups.map((g) => g.signal(groupControlSignal, control).catch(() => undefined)));
  }

  setHandler(pauseCampaignUpdate, async () => {
    paused = true;
    setStatus('paused');
    await tellGroups('pause');
    return progress();
  });
  setHandler(resumeCampaignUpdate, async () => {
    paused = false;
    setStatus(stalled ? 'stalled' : 'running');
    await tellGroups('resume');
    return progress();
  });
  setHandler(cancelCampaignUpdate, async () => {
    cancelled = true; // lanes wake from any wait at once and stop; a send already running finishes
    await tellGroups('cancel');
    return progress();
  });
  setHandler(wakeCampaignSignal, async () => {
    woken = true;
    await tellGroups('wake');
  });
  setHandler(progressQuery, progress);

  setStatus(status());
  for (; ; round++) {
    if (cancelled) break;
    woken = false;
    let groupFailed = false;
    const plan = await data.loadCampaignPlan({ campaignId: input.campaignId, spreadLeads: true });
    if (plan.startAt && plan.startAt > Date.now()) {
      // Scheduled (startAt): one timer until then; pause and resume are heard meanwhile, cancel ends it.
      startsAt = plan.startAt;
      await condition(() => cancelled, plan.startAt - Date.now());
      startsAt = null;
      if (cancelled) break;
      continue; // load the plan again: mailboxes may have changed meanwhile
    }
    const mailboxes: LaneMailbox[] = plan.mailboxes;
    let results: CampaignGroupResult[] = [];
    if (mailboxes.length > 0) {
      const parts = chunk(mailboxes, GROUP_SIZE);
      groups = await Promise.all(
        parts.map((part, k) =>
          startChild(campaignGroupWorkflow, {
            workflowId: campaignGroupWorkflowId(input.campaignId, round, k),
            args: [{
              campaignId: input.campaignId,
              clientId: input.clientId,
              name: plan.name,
              stepCount: plan.stepCount,
              mailboxes: part,
              lanes: mailboxes.length,
              paused,
              window: plan.window ?? null,
              ...(plan.mode ? { mode: plan.mode } : {}),
            }],
            parentClosePolicy: ParentClosePolicy.TERMINATE,
            workflowTaskTimeout: LONG_RUN_TASK_TIMEOUT,
            typedSearchAttributes: [
              { key: SA_CLIENT, value: input.clientId },
              { key: SA_CAMPAIGN, value: input.campaignId },
            ],
            staticSummary: `Campaign "${plan.name}"${plan.mode ? ` · ${plan.mode}` : ''} · round ${round + 1} · group ${k + 1}/${parts.length} · ${part.length} mailboxes`,
          }),
        ),
      );
      if (cancelled) await tellGroups('cancel'); // cancelled while the groups were starting
      // A group that fails (a bug, or terminated by hand) ends its round's part only: the next round takes what it left.
      results = await Promise.all(
        groups.map((g) =>
          g.result().catch((err: unknown): CampaignGroupResult => {
            log.error('campaign group failed; the next round takes its work', { campaignId: input.campaignId, group: g.workflowId, error: String(err) });
            groupFailed = true;
            return { sent: 0, failed: 0, activity: 0, released: 0, ends: {} };
          }),
        ),
      );
      groups = [];
      for (const r of results) {
        sent += r.sent;
        failed += r.failed;
      }
    }
    if (cancelled) break;

    const left = await data.remainingWork({ campaignId: input.campaignId });
    if (left.pending === 0 && left.waiting === 0) {
      await data.completeCampaign({ campaignId: input.campaignId, clientId: input.clientId });
      setStatus('completed');
      return { ...progress(), status: 'completed' };
    }
    // Leads given back (a mailbox stopped or failed) are work another round's lanes can take.
    const changed = results.some((r) => (r.released ?? 0) > 0) || (groupFailed && ++failedRounds <= MAX_FAILED_ROUNDS);
    if (!groupFailed) failedRounds = 0;
    const worked = results.some((r) => r.activity > 0);
    if (!woken && !changed && !worked) {
      // Nothing any mailbox of the plan can take: every one is paused, resting or gone. Wait for a wake, no timer.
      log.warn('campaign stalled: no mailbox can take its remaining work', { campaignId: input.campaignId, ...left });
      stalled = true;
      setStatus('stalled');
      await condition(() => woken || cancelled);
      stalled = false;
      setStatus(status());
    }
    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof campaignWorkflow>({ ...input, sent, failed, paused, continued: true, round: round + 1 });
    }
  }
  setStatus('cancelled');
  return { ...progress(), status: 'cancelled' };
}
