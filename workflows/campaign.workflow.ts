import {
  ApplicationFailure,
  condition,
  continueAsNew,
  defineQuery,
  defineUpdate,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { SendStepResult } from '../activities/send-step.activity';
import { mailboxWorkflowId } from './ids';
import { releaseSlotSignal, reportOutcomeSignal, type OutcomeReport } from './mailbox.workflow';
import { SA_STATUS } from './search-attributes';

const data = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 10, initialInterval: '1 second', maximumInterval: '1 minute' },
});

const slots = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 20, nonRetryableErrorTypes: ['MailboxNotRunning'] },
});

const sends = proxyActivities<Activities>({
  // Above the adapters' own 30 s request timeout; short enough that a crashed worker's sends are retried soon.
  startToCloseTimeout: '45 seconds',
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
  sent?: number;
  failed?: number;
  paused?: boolean;
}

export type CampaignRunStatus = 'running' | 'paused' | 'cancelled' | 'completed' | 'stalled';

export interface CampaignProgress {
  status: CampaignRunStatus;
  sent: number;
  failed: number;
  inFlight: number;
}

export const pauseCampaignUpdate = defineUpdate<CampaignProgress, []>('pause');
export const resumeCampaignUpdate = defineUpdate<CampaignProgress, []>('resume');
export const cancelCampaignUpdate = defineUpdate<CampaignProgress, []>('cancel');
export const progressQuery = defineQuery<CampaignProgress>('progress');

const MAX_SLOT_ATTEMPTS = 5;
/** A new lead does not wait longer than this on one mailbox while others may have room. */
const LONG_WAIT_MS = 60_000;

type LaneEnd = 'idle' | 'mailbox_stopped' | 'yield' | 'cancelled';

/**
 * Sends every step of a campaign's sequence. One lane per mailbox: a lane
 * takes its next lead from Postgres (a new lead, or a follow-up that is due:
 * follow-ups stay on the mailbox that sent step 0, in the same thread), asks
 * its mailbox for a slot (warm-up, caps, interval, window and cooldown live
 * there), sleeps until the slot, sends, and reports the outcome. Pause stops
 * any send from starting once acknowledged; cancel ends the lanes and the
 * workflow. The workflow holds no lead list: history stays bounded and it
 * continues as new when Temporal suggests it.
 */
export async function campaignWorkflow(input: CampaignWorkflowInput): Promise<CampaignProgress> {
  const plan = await data.loadCampaignPlan({ campaignId: input.campaignId });
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

  function outcomeOf(r: SendStepResult): OutcomeReport['outcome'] {
    switch (r.status) {
      case 'sent':
      case 'unknown': // it may have gone out: count the slot as used
        return 'sent';
      case 'throttled':
        return 'throttled';
      case 'failed':
        return 'failed';
      default:
        return 'skipped';
    }
  }

  /** Waits out a pause; false when the campaign was cancelled meanwhile. */
  async function whilePaused(): Promise<boolean> {
    if (paused) await condition(() => !paused || cancelled);
    return !cancelled;
  }

  async function lane(mailbox: { id: string; address: string }): Promise<LaneEnd> {
    const handle = getExternalWorkflowHandle(mailboxWorkflowId(mailbox.address));
    for (;;) {
      if (!(await whilePaused())) return 'cancelled';
      if (yielding) return 'yield';
      const work = await data.claimWork({ campaignId: input.campaignId, mailboxId: mailbox.id });
      if (work === null) return 'idle';
      let done = false;
      for (let attempt = 0; !done && attempt < MAX_SLOT_ATTEMPTS; attempt++) {
        const requestId = `${input.campaignId}:${work.leadId}:${work.step}:${attempt}`;
        const answer = await slots.reserveMailboxSlot({ address: mailbox.address, campaignId: input.campaignId, requestId });
        if (!answer.granted) {
          if (answer.retryAt === null) {
            await data.releaseUnsent({ campaignId: input.campaignId, mailboxId: mailbox.id });
            return 'mailbox_stopped';
          }
          const waitMs = answer.retryAt - Date.now();
          if (work.step === 0 && waitMs > LONG_WAIT_MS) {
            // This mailbox is full for now (cap, window): hand the new lead to mailboxes that can send it.
            await data.releaseUnsent({ campaignId: input.campaignId, mailboxId: mailbox.id });
            return 'idle';
          }
          attempt--; // waiting for a slot is not a failed attempt
          if (await condition(() => cancelled, Math.max(1000, waitMs))) return 'cancelled';
          continue;
        }
        if (answer.at > Date.now()) await condition(() => cancelled, answer.at - Date.now());
        if (paused || cancelled) {
          // Pause acknowledged: no send starts. Give the slot back and wait.
          await handle.signal(releaseSlotSignal, { requestId });
          if (!(await whilePaused())) return 'cancelled';
          attempt--;
          continue;
        }
        let result: SendStepResult;
        inFlight++;
        try {
          result = await sends.sendStep({ campaignId: input.campaignId, leadId: work.leadId, step: work.step, mailboxId: mailbox.id, slotAt: answer.at });
        } catch (err) {
          const type = err instanceof ApplicationFailure ? err.type : (err as { cause?: ApplicationFailure }).cause?.type;
          if (type === 'SenderMisconfigured') {
            await handle.signal(reportOutcomeSignal, { requestId, outcome: 'sender_misconfigured' });
            await data.releaseUnsent({ campaignId: input.campaignId, mailboxId: mailbox.id });
            return 'mailbox_stopped';
          }
          await handle.signal(reportOutcomeSignal, { requestId, outcome: 'failed' });
          failed++;
          done = true;
          break;
        } finally {
          inFlight--;
        }
        await handle.signal(reportOutcomeSignal, {
          requestId,
          outcome: outcomeOf(result),
          retryAfterMs: result.status === 'throttled' ? (result.retryAfterMs ?? undefined) : undefined,
        });
        if (result.status === 'throttled') continue; // ask again: the mailbox is cooling down now
        if (result.status === 'sent') sent++;
        else if (result.status !== 'skipped') failed++;
        done = true;
      }
      if (!done) failed++;
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
      await continueAsNew<typeof campaignWorkflow>({ ...input, sent, failed, paused });
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
