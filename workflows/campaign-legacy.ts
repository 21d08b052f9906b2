import {
  ApplicationFailure,
  type ActivityOptions,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { SendBatchOutput, SendStepResult } from '../activities/send-step.activity';
import { mailboxWorkflowId } from './ids';
import { batchSlotId, reportOutcomesSignal, type BatchOutcomes, type OutcomeReport } from './messages/mailbox';
import { SA_STATUS } from './search-attributes';
import { SEND_FAILURE_TYPES } from './send-failures';
import { sendSummary } from './summaries';
import {
  cancelCampaignUpdate,
  pauseCampaignUpdate,
  progressQuery,
  resumeCampaignUpdate,
  type CampaignProgress,
  type CampaignRunStatus,
  type CampaignWorkflowInput,
} from './messages/campaign';
import type { campaignWorkflow } from './campaign.workflow';

const data = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 10, initialInterval: '1 second', maximumInterval: '1 minute' },
});

const slots = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 20, nonRetryableErrorTypes: ['MailboxNotRunning'] },
});

const SEND_RETRY_INITIAL_MS = 5_000;

const SEND_OPTIONS: ActivityOptions = {
  // Above the adapters' own 30 s request timeout; short enough that a crashed worker's sends are retried soon.
  startToCloseTimeout: '45 seconds',
  retry: {
    initialInterval: SEND_RETRY_INITIAL_MS,
    backoffCoefficient: 2,
    maximumInterval: '10 minutes',
    maximumAttempts: 8, // capped: a send never retries forever
    nonRetryableErrorTypes: ['SenderMisconfigured', 'NotFound'],
  },
};
const sends = proxyActivities<Activities>(SEND_OPTIONS);

/**
 * A batch of sends: each item is handled within the adapters' 30 s timeout
 * and heartbeats, so a crashed worker's batch is retried after 45 s (sent
 * items replay, an interrupted one is marked unknown). Failures that are not
 * a provider's answer (the database) retry a few times, then each item is
 * sent alone under the send policy above.
 */
const BATCH_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '45 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5 },
};
const batches = proxyActivities<Activities>(BATCH_OPTIONS);

/** A lane waiting for its mailbox checks this often whether any work is left for it. */
const WAIT_RECHECK_MS = 30_000;
/** After a batch failed for a reason no provider gave (the database), its lane waits this long. */
const BATCH_FAILURE_PAUSE_MS = 30_000;
/** Most slots a lane reserves (and leads it claims) at once. */
const BATCH_MAX = 50;
/** Slots after the first join a batch only if they fall this close to it (a paced mailbox grants one). */
const BATCH_WITHIN_MS = 5_000;

/** providers: absent in plans recorded before activity summaries. */
type LaneMailbox = { id: string; address: string; providers?: string[] };
type MailboxHandle = ReturnType<typeof getExternalWorkflowHandle>;

function failureType(err: unknown): string | undefined {
  return err instanceof ApplicationFailure ? err.type ?? undefined : (err as { cause?: ApplicationFailure }).cause?.type ?? undefined;
}



/** A lane does not hold leads for a slot further away than this (others may have room); it waits empty-handed. */
const LONG_WAIT_MS = 60_000;
/** A lane whose mailbox cannot send for longer than this gives its unsent new leads back to the other lanes. */
const RELEASE_SHARE_AFTER_MS = 15 * 60_000;

type LaneEnd = 'idle' | 'mailbox_stopped' | 'yield' | 'cancelled';

/**
 * RETIRING: the campaign run as it was before child groups (patch
 * 'campaign-groups'). Kept only so that campaign runs started on that code
 * replay and finish; their next continue-as-new starts on the new shape.
 * Do not change: a change here breaks the replay of those histories.
 *
 * Sends every step of a campaign's sequence. One lane per mailbox: a lane
 * takes its next lead from Postgres (a new lead, or a follow-up that is due:
 * follow-ups stay on the mailbox that sent step 0, in the same thread), asks
 * its mailbox for a slot (warm-up, caps, interval, window and cooldown live
 * there), sleeps until the slot, sends, and reports the outcome. Pause stops
 * any send from starting once acknowledged; cancel ends the lanes and the
 * workflow. The workflow holds no lead list: history stays bounded and it
 * continues as new when Temporal suggests it.
 */
export async function legacyCampaignRun(input: CampaignWorkflowInput): Promise<CampaignProgress> {
  const plan = await data.loadCampaignPlan({ campaignId: input.campaignId, spreadLeads: !input.continued });
  let sent = input.sent ?? 0;
  let failed = input.failed ?? 0;
  let paused = input.paused ?? false;
  let cancelled = false;
  let yielding = false;
  let inFlight = 0;

  const progress = (): CampaignProgress => ({
    status: cancelled ? 'cancelled' : paused ? 'paused' : 'running',
    sent,
    failed,
    inFlight,
  });
  const setStatus = (s: CampaignRunStatus) => upsertSearchAttributes([{ key: SA_STATUS, value: s }]);

  setHandler(pauseCampaignUpdate, () => {
    paused = true;
    setStatus('paused');
    return progress();
  });
  setHandler(resumeCampaignUpdate, () => {
    paused = false;
    setStatus('running');
    return progress();
  });
  setHandler(cancelCampaignUpdate, () => {
    cancelled = true; // lanes wake from any wait at once and stop; a send already running finishes
    return progress();
  });
  setHandler(progressQuery, progress);

  setStatus(paused ? 'paused' : 'running');
  if (plan.mailboxes.length === 0) {
    log.warn('campaign has no usable mailbox', { campaignId: input.campaignId });
    setStatus('stalled');
    return { ...progress(), status: 'stalled' };
  }

  /** Waits out a pause; false when the campaign was cancelled meanwhile. */
  async function whilePaused(): Promise<boolean> {
    if (paused) await condition(() => !paused || cancelled);
    return !cancelled;
  }

  /** Tells the mailbox what became of a batch's slots, in one signal. */
  async function report(handle: MailboxHandle, batchId: string, outcomes: BatchOutcomes['outcomes'], from = 0): Promise<void> {
    if (outcomes.length) await handle.signal(reportOutcomesSignal, { batchId, from, outcomes });
  }

  function count(status: SendStepResult['status']): void {
    if (status === 'sent') sent++;
    else if (status !== 'skipped' && status !== 'paused' && status !== 'throttled') failed++;
  }

  function outcomeOf(status: SendStepResult['status']): OutcomeReport['outcome'] {
    switch (status) {
      case 'sent':
      case 'unknown': // it may have gone out: count the slot as used
        return 'sent';
      case 'throttled':
        return 'throttled';
      case 'failed':
        return 'failed';
      default:
        return 'skipped'; // skipped lead, paused campaign: the slot was not used
    }
  }

  /** What the Web UI shows for a send activity: campaign, step, mailbox, providers; never the recipient. */
  function summary(mailbox: LaneMailbox, steps: number[] | undefined, slotCount: number): string {
    // Histories recorded before summaries carry plans and reservations without these fields: replay must not throw.
    return sendSummary({
      campaignName: plan.name ?? '',
      steps: steps ?? [],
      stepCount: plan.stepCount,
      mailbox: mailbox.address,
      providers: mailbox.providers ?? [],
      slots: slotCount,
    });
  }

  /** One send on its own, under the full send retry policy (after a batch stopped on it). */
  async function sendAlone(
    mailbox: LaneMailbox,
    handle: MailboxHandle,
    slot: { requestId: string; at: number },
    work: { leadId: string; step: number },
  ): Promise<LaneEnd | null> {
    let result: SendStepResult;
    inFlight++;
    try {
      result = await sends.sendStep.executeWithOptions(
        { ...SEND_OPTIONS, summary: summary(mailbox, [work.step], 1) },
        [{ campaignId: input.campaignId, leadId: work.leadId, step: work.step, mailboxId: mailbox.id, slotAt: slot.at }],
      );
    } catch (err) {
      if (failureType(err) === SEND_FAILURE_TYPES.senderMisconfigured) {
        await report(handle, slot.requestId, [{ outcome: 'sender_misconfigured' }]);
        await data.releaseUnsent({ campaignId: input.campaignId, mailboxId: mailbox.id });
        return 'mailbox_stopped';
      }
      await report(handle, slot.requestId, [{ outcome: 'failed' }]);
      failed++;
      return null;
    } finally {
      inFlight--;
    }
    await report(handle, slot.requestId, [
      { outcome: outcomeOf(result.status), retryAfterMs: result.status === 'throttled' ? (result.retryAfterMs ?? undefined) : undefined },
    ]);
    count(result.status);
    return null;
  }

  /** Sends a granted batch; returns how the lane ends, or null to go on. */
  async function runBatch(mailbox: LaneMailbox, handle: MailboxHandle, batchId: string, slots: number[], steps: number[] | undefined): Promise<LaneEnd | null> {
    let out: SendBatchOutput;
    inFlight += slots.length;
    try {
      out = await batches.sendBatch.executeWithOptions(
        { ...BATCH_OPTIONS, summary: summary(mailbox, steps, slots.length) },
        [{ campaignId: input.campaignId, mailboxId: mailbox.id, requestId: batchId, slots }],
      );
    } catch {
      // It kept failing outside any provider answer (e.g. the database). Its
      // leads stay queued on this mailbox. Some slots may have been used, so
      // they are reported failed (counted unless still ahead); retry later.
      await report(handle, batchId, slots.map(() => ({ outcome: 'failed' as const })));
      return (await condition(() => cancelled, BATCH_FAILURE_PAUSE_MS)) ? 'cancelled' : null;
    } finally {
      inFlight -= slots.length;
    }
    const outcomes: BatchOutcomes['outcomes'] = out.results.map((status, i) => ({
      outcome: outcomeOf(status),
      retryAfterMs: out.retryAfterMs?.[i],
    }));
    out.results.forEach(count);
    const stopped = out.stopped;
    let retryAlone = false;
    let end: LaneEnd | null = null;
    if (stopped) {
      if (stopped.type === SEND_FAILURE_TYPES.senderMisconfigured) {
        outcomes.push({ outcome: 'sender_misconfigured' });
        end = 'mailbox_stopped';
      } else if (stopped.type === SEND_FAILURE_TYPES.transient || stopped.type === SEND_FAILURE_TYPES.providerDown) {
        retryAlone = true; // its slot is reported by sendAlone
      } else {
        outcomes.push({ outcome: 'failed' });
        failed++;
      }
    }
    // Slots after the stop (or with no lead to send) were not used.
    const used = outcomes.length + (retryAlone ? 1 : 0);
    const unused = slots.slice(used).map(() => ({ outcome: 'skipped' as const }));
    if (retryAlone) {
      await report(handle, batchId, outcomes);
      await report(handle, batchId, unused, used); // the slots after the retried one
    } else {
      await report(handle, batchId, outcomes.concat(unused));
    }
    if (end === 'mailbox_stopped') {
      await data.releaseUnsent({ campaignId: input.campaignId, mailboxId: mailbox.id });
      return end;
    }
    if (retryAlone && stopped) {
      // As the send activity's own retry policy would: a pause first, then Temporal retries with backoff.
      if (await condition(() => cancelled, SEND_RETRY_INITIAL_MS)) return 'cancelled';
      const slot = { requestId: batchSlotId(batchId, stopped.index), at: slots[stopped.index]! };
      return sendAlone(mailbox, handle, slot, stopped);
    }
    return null;
  }

  async function lane(mailbox: LaneMailbox): Promise<LaneEnd> {
    const handle = getExternalWorkflowHandle(mailboxWorkflowId(mailbox.address));
    for (let seq = 0; ; seq++) {
      if (!(await whilePaused())) return 'cancelled';
      if (yielding) return 'yield';
      const r = await slots.reserveBatch({
        address: mailbox.address,
        mailboxId: mailbox.id,
        campaignId: input.campaignId,
        requestId: `${input.campaignId}:${workflowInfo().runId}:${mailbox.id}:${seq}`,
        max: BATCH_MAX,
        lanes: plan.mailboxes.length,
        withinMs: BATCH_WITHIN_MS,
        maxWaitMs: LONG_WAIT_MS,
      });
      if (r.kind === 'idle') return 'idle';
      if (r.kind === 'wait') {
        if (r.retryAt === null) {
          await data.releaseUnsent({ campaignId: input.campaignId, mailboxId: mailbox.id });
          return 'mailbox_stopped';
        }
        // No new lead is held meanwhile: this mailbox's share goes back to the
        // campaign and other mailboxes with room take it. A long wait is cut
        // into rechecks, so a lane whose work others have finished ends
        // instead of holding the campaign open until its slot.
        // Only for a long wait (cap reached, window closed, cooling down), not a
        // mailbox's normal pacing, which would undo the spread at start.
        // (patched: runs started before leads were spread at start did not.)
        if (patched('release-share-on-wait') && r.retryAt - Date.now() > RELEASE_SHARE_AFTER_MS) {
          await data.releaseUnsent({ campaignId: input.campaignId, mailboxId: mailbox.id });
        }
        const until = Math.max(Date.now() + 1000, r.retryAt);
        for (;;) {
          if (await condition(() => cancelled, Math.min(WAIT_RECHECK_MS, until - Date.now()))) return 'cancelled';
          if (Date.now() >= until) break;
          if (!(await data.laneHasWork({ campaignId: input.campaignId, mailboxId: mailbox.id }))) return 'idle';
        }
        continue;
      }
      const first = r.slots[0]!;
      if (first > Date.now()) await condition(() => cancelled || paused, first - Date.now());
      if (paused || cancelled) {
        // Pause acknowledged: no send starts. Give the slots back; the leads stay queued.
        await report(handle, r.requestId, r.slots.map(() => ({ outcome: 'skipped' as const })));
        continue;
      }
      const end = await runBatch(mailbox, handle, r.requestId, r.slots, r.steps);
      if (end) return end;
      if (workflowInfo().continueAsNewSuggested) yielding = true;
    }
  }

  for (;;) {
    const ends = await Promise.all(plan.mailboxes.map(lane));
    if (cancelled || ends.includes('cancelled')) {
      setStatus('cancelled');
      return { ...progress(), status: 'cancelled' };
    }
    if (ends.includes('yield')) {
      await continueAsNew<typeof campaignWorkflow>({ ...input, sent, failed, paused, continued: true });
    }
    const left = await data.remainingWork({ campaignId: input.campaignId });
    if (left.pending === 0 && left.waiting === 0) break;
    if (ends.every((e) => e === 'mailbox_stopped')) {
      log.warn('all mailboxes of the campaign stopped', { campaignId: input.campaignId });
      setStatus('stalled');
      // Try again later: a paused mailbox may be resumed.
      await condition(() => cancelled, '1 hour');
      continue;
    }
    // Nothing due now: sleep until the next follow-up (or a new lead upload is noticed within a minute).
    const wait = left.pending > 0 ? 60_000 : Math.max(1000, (left.nextDueAt ?? Date.now() + 60_000) - Date.now());
    await condition(() => cancelled, wait);
  }

  await data.completeCampaign({ campaignId: input.campaignId, clientId: input.clientId });
  setStatus('completed');
  return { ...progress(), status: 'completed' };
}
