import {
  ApplicationFailure,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { SendStepResult } from '../activities/send-step.activity';
import { mailboxWorkflowId } from './ids';
import { reportOutcomeSignal, type OutcomeReport } from './mailbox.workflow';
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
  cursor?: string | null;
  queue?: string[];
  sent?: number;
  failed?: number;
}

export interface CampaignProgress {
  sent: number;
  failed: number;
  cursor: string | null;
}

const PAGE_SIZE = 100;
const MAX_SLOT_ATTEMPTS = 5;

type LaneEnd = 'drained' | 'mailbox_stopped' | 'yield';

/**
 * Sends step 0 to every pending lead of a campaign. One lane per mailbox: a
 * lane takes the next lead, asks its mailbox for a slot (the mailbox enforces
 * warm-up, caps, interval, window and cooldown), sleeps until the slot,
 * sends, and reports the outcome back to the mailbox. Leads are paged from
 * Postgres; history stays bounded by continuing as new between leads.
 */
export async function campaignWorkflow(input: CampaignWorkflowInput): Promise<CampaignProgress> {
  const plan = await data.loadCampaignPlan({ campaignId: input.campaignId });
  let cursor = input.cursor ?? null;
  const queue: string[] = [...(input.queue ?? [])];
  let sent = input.sent ?? 0;
  let failed = input.failed ?? 0;
  let exhausted = false;
  let fetching: Promise<void> | null = null;
  let yielding = false;
  upsertSearchAttributes([{ key: SA_STATUS, value: 'running' }]);

  if (plan.mailboxes.length === 0) {
    log.warn('campaign has no usable mailbox', { campaignId: input.campaignId });
    return { sent, failed, cursor };
  }

  /** The next lead id, paging from Postgres when the queue runs dry (one fetch at a time). */
  async function nextLead(): Promise<string | null> {
    for (;;) {
      if (yielding) return null;
      const id = queue.shift();
      if (id !== undefined) return id;
      if (exhausted) return null;
      fetching ??= data
        .pendingLeadPage({ campaignId: input.campaignId, afterId: cursor, limit: PAGE_SIZE })
        .then((page) => {
          if (page.length === 0) exhausted = true;
          else {
            queue.push(...page);
            cursor = page[page.length - 1]!;
          }
        })
        .finally(() => {
          fetching = null;
        });
      await fetching;
    }
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

  async function lane(mailbox: { id: string; address: string }): Promise<LaneEnd> {
    const handle = getExternalWorkflowHandle(mailboxWorkflowId(mailbox.address));
    for (;;) {
      if (yielding) return 'yield';
      const leadId = await nextLead();
      if (leadId === null) return yielding ? 'yield' : 'drained';
      let done = false;
      for (let attempt = 0; !done && attempt < MAX_SLOT_ATTEMPTS; attempt++) {
        const requestId = `${input.campaignId}:${leadId}:0:${attempt}`;
        const answer = await slots.reserveMailboxSlot({ address: mailbox.address, campaignId: input.campaignId, requestId });
        if (!answer.granted) {
          if (answer.retryAt === null) {
            queue.unshift(leadId); // the mailbox stopped (paused): another lane takes this lead
            return 'mailbox_stopped';
          }
          attempt--; // waiting for a slot is not a failed attempt
          await sleep(Math.max(1000, answer.retryAt - Date.now()));
          continue;
        }
        if (answer.at > Date.now()) await sleep(answer.at - Date.now());
        let result: SendStepResult;
        try {
          result = await sends.sendStep({ campaignId: input.campaignId, leadId, step: 0, mailboxId: mailbox.id });
        } catch (err) {
          const type = err instanceof ApplicationFailure ? err.type : (err as { cause?: ApplicationFailure }).cause?.type;
          if (type === 'SenderMisconfigured') {
            await handle.signal(reportOutcomeSignal, { requestId, outcome: 'sender_misconfigured' });
            queue.unshift(leadId);
            return 'mailbox_stopped';
          }
          await handle.signal(reportOutcomeSignal, { requestId, outcome: 'failed' });
          failed++;
          done = true;
          break;
        }
        await handle.signal(reportOutcomeSignal, {
          requestId,
          outcome: outcomeOf(result),
          retryAfterMs: result.status === 'throttled' ? (result.retryAfterMs ?? undefined) : undefined,
        });
        if (result.status === 'throttled') continue; // ask again: the mailbox is cooling down now
        if (result.status === 'sent') sent++;
        else failed++;
        done = true;
      }
      if (!done) failed++;
      if (workflowInfo().continueAsNewSuggested) yielding = true;
    }
  }

  const ends = await Promise.all(plan.mailboxes.map(lane));
  if (ends.includes('yield')) {
    await condition(() => fetching === null);
    await continueAsNew<typeof campaignWorkflow>({ ...input, cursor, queue, sent, failed });
  }
  if (!ends.includes('drained') && (queue.length > 0 || !exhausted)) {
    // Every mailbox stopped with leads left: leave the campaign running; it resumes when restarted.
    log.warn('all mailboxes of the campaign stopped', { campaignId: input.campaignId, queued: queue.length });
    upsertSearchAttributes([{ key: SA_STATUS, value: 'stalled' }]);
    return { sent, failed, cursor };
  }

  await data.completeCampaign({ campaignId: input.campaignId, clientId: input.clientId });
  upsertSearchAttributes([{ key: SA_STATUS, value: 'completed' }]);
  return { sent, failed, cursor };
}
