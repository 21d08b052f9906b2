import { ApplicationFailure } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { availableWork, nextFollowUpDue } from '../db/repositories/lead-work';
import { newLeadQuota } from '../db/repositories/campaign-quota';
import { recordLane, type LaneState } from '../db/repositories/campaign-lanes';
import { waitReasonOf } from '../workflows/messages/campaign';
import { mailboxWorkflowId } from '../workflows/ids';
import { reportOutcomesSignal, reserveSlotUpdate, type BatchOutcomes, type ReserveAnswer, type ReserveRequest } from '../workflows/messages/mailbox';
import type { ActivityDeps } from './deps';
import { reserveDryRun } from './dry-run-slots';
import { getRunMode } from '../db/repositories/staging';
import type { BlockReason, WindowConstraint } from '../workflows/policy';

export interface ReserveBatchInput {
  address: string;
  mailboxId: string;
  campaignId: string;
  /** Doubles as the Update id: a retried activity gets the same slots, not more. */
  requestId: string;
  max: number;
  /** Lanes (mailboxes) of the campaign: a lane takes at most its fair share of the unassigned leads. */
  lanes: number;
  /** Slots after the first are granted only within this many ms of it. */
  withinMs: number;
  /** A first slot further away than this is given back (no lead waits on a full mailbox). */
  maxWaitMs: number;
  /** The lane's workflow run: a slot the campaign still holds for another (a run that is gone) is dropped. */
  holder?: string;
  /** The outcomes of the lane's previous batch, carried by this reservation (or signalled when there is none to make). */
  report?: BatchOutcomes;
  /** The campaign's window: slots fall inside it and the mailbox's. */
  window?: WindowConstraint | null;
  /**
   * The lane's clock (its workflow's Date.now(), epoch ms): what is due, which
   * day's new-lead quota applies and how far off a slot is are read at this
   * instant. The process clock when omitted (callers recorded before it).
   * In production the two agree within a workflow task's latency; under a
   * time-skipping test server only this one is the campaign's time.
   */
  now?: number;
}

/**
 * answeredAt: when this activity answered, on the lane's clock (its `now`
 * plus the time the activity took). The lane decides from it
 * (is the slot ahead? is the wait long?) rather than from its own clock, so
 * the decision is recorded in history: a workflow's clock can differ between
 * the first run of a task and its replay when a query arrives while new
 * events wait for a workflow task (the query's activation applies them at the
 * last task's time), and a decision on that clock would not replay.
 */
export type ReserveBatchResult = (
  /** Slot i's request id is batchSlotId(requestId, i); sendBatch claims a lead per slot; steps: the 0-based steps of the work waiting (for the activity summary). */
  | { kind: 'batch'; requestId: string; slots: number[]; steps: number[] }
  /** Nothing to send now (no lead left or due); nextDueAt: when a follow-up falls due for this lane, if one will. */
  | { kind: 'idle'; nextDueAt?: number | null }
  /** No slot yet: ask again at retryAt; null means the mailbox is paused or will never open. */
  | { kind: 'wait'; retryAt: number | null; reason: Extract<ReserveAnswer, { granted: false }>['reason'] | 'new_leads_per_day' | 'follow_up_delay'; blockedBy?: BlockReason }
) & { answeredAt?: number };

/** What a lane does after this answer, for GET /v1/campaigns/:id (campaign_lanes). */
export function laneAfter(mailboxId: string, r: ReserveBatchResult, at: number): LaneState {
  if (r.kind === 'batch') {
    const first = r.slots[0] ?? at;
    return first > at ? { mailboxId, state: 'waiting', until: first, reason: 'pacing' } : { mailboxId, state: 'sending', until: null, reason: null };
  }
  if (r.kind === 'idle') {
    const due = r.nextDueAt ?? null;
    return due === null ? { mailboxId, state: 'ended', until: null, reason: 'done' } : { mailboxId, state: 'idle', until: due, reason: 'follow_up_delay' };
  }
  if (r.retryAt === null) return { mailboxId, state: 'ended', until: null, reason: 'stopped' };
  return { mailboxId, state: 'waiting', until: r.retryAt, reason: waitReasonOf(r.reason, r.blockedBy) };
}

export function reserveSlotActivities({ client, pool, logger }: ActivityDeps) {
  async function reserve(address: string, request: ReserveRequest): Promise<ReserveAnswer> {
    try {
      return await client.workflow.getHandle(mailboxWorkflowId(address)).executeUpdate(reserveSlotUpdate, {
        args: [request],
        updateId: request.requestId,
      });
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        throw ApplicationFailure.nonRetryable(`no running workflow for mailbox ${address}`, 'MailboxNotRunning');
      }
      throw err;
    }
  }

  async function deliverReport(address: string, report: BatchOutcomes): Promise<void> {
    try {
      await client.workflow.getHandle(mailboxWorkflowId(address)).signal(reportOutcomesSignal, report);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        throw ApplicationFailure.nonRetryable(`no running workflow for mailbox ${address}`, 'MailboxNotRunning');
      }
      throw err;
    }
  }

  return {
    /**
     * One lane step: reserve as many slots on the mailbox as the lane has work
     * for (its own due leads plus a fair share of the unassigned ones, at most
     * `max`). No lead is claimed here: sendBatch claims one per slot, so a
     * lead never waits on a mailbox that may not send it soon.
     */
    async reserveBatch(input: ReserveBatchInput): Promise<ReserveBatchResult> {
      const began = Date.now();
      const result = await reserveBatchAt(input);
      // On the lane's clock (as `now` came in), advanced by the time this took.
      const answeredAt = (input.now ?? began) + (Date.now() - began);
      // The lane's state for the API; a view only, so a failed write never fails the reservation.
      await recordLane(pool, input.campaignId, laneAfter(input.mailboxId, result, answeredAt)).catch((err: Error) =>
        logger.warn({ campaignId: input.campaignId, mailboxId: input.mailboxId, err: err.message }, 'could not record the lane state'),
      );
      return { ...result, answeredAt };
    },
  };

  async function reserveBatchAt(input: ReserveBatchInput): Promise<ReserveBatchResult> {
    const lanes = Math.max(1, input.lanes);
    // Without the lane's clock (an older caller): due is read at the database's now(), the rest at the process clock, as before.
    const work = await availableWork(pool, input.campaignId, input.mailboxId, input.max * lanes, input.now);
    const now = input.now ?? Date.now();
    const share = work.unassigned > 0 ? Math.max(1, Math.floor(work.unassigned / lanes)) : 0;
    // Follow-ups due (its own, and its share of any a failed mailbox gave back), then new leads (its own and its share).
    const sharedFollowUps = Math.min(share, work.unassigned - work.unassignedNew);
    const followUps = work.own - work.ownNew + sharedFollowUps;
    const newWork = work.ownNew + (share - sharedFollowUps);
    // limits.newLeadsPerDay: first steps beyond the day's allowance wait for the campaign's next local day; follow-ups do not count.
    const quota = newWork > 0 ? await newLeadQuota(pool, input.campaignId, now) : null;
    const want = Math.min(input.max, followUps + (quota ? Math.min(newWork, quota.remaining) : newWork));
    // A dry run never asks the mailbox workflow (its real caps stay untouched): the mailbox's own policy over a shadow of its state.
    const dryRun = (await getRunMode(pool, input.campaignId)) === 'dry-run';
    // No reservation to carry the lane's last outcomes: they go as a signal of their own (a dry run's outcomes concern no mailbox).
    if (want === 0 && input.report && !dryRun) await deliverReport(input.address, input.report);
    if (want === 0 && quota) {
      // Until the next local day, or a follow-up falling due before it (those do not count toward the limit).
      const due = await nextFollowUpDue(pool, input.campaignId, input.mailboxId);
      return due !== null && due < quota.dayEnd
        ? { kind: 'wait', retryAt: due, reason: 'follow_up_delay' }
        : { kind: 'wait', retryAt: quota.dayEnd, reason: 'new_leads_per_day' };
    }
    if (want === 0) return { kind: 'idle', nextDueAt: work.nextDueAt };
    const request: ReserveRequest = {
      requestId: input.requestId,
      campaignId: input.campaignId,
      count: want,
      withinMs: input.withinMs,
      horizonMs: input.maxWaitMs,
      ...(input.holder !== undefined ? { holder: input.holder } : {}),
      ...(input.window ? { window: input.window } : {}),
      ...(input.report ? { report: input.report } : {}),
    };
    const answer = dryRun ? await reserveDryRun({ pool, client }, input.mailboxId, input.address, request, now) : await reserve(input.address, request);
    if (!answer.granted) return { kind: 'wait', retryAt: answer.retryAt, reason: answer.reason, ...(answer.blockedBy ? { blockedBy: answer.blockedBy } : {}) };
    const slots = (answer.slots ?? [{ requestId: answer.requestId, at: answer.at }]).map((s) => s.at);
    if (answer.at - now > input.maxWaitMs && !dryRun) {
      // Too far off to hold for: give the slots back and come back then.
      await client.workflow
        .getHandle(mailboxWorkflowId(input.address))
        .signal(reportOutcomesSignal, { batchId: answer.requestId, outcomes: slots.map(() => ({ outcome: 'skipped' as const })) });
      return { kind: 'wait', retryAt: answer.at, reason: 'beyond_horizon' };
    }
    return { kind: 'batch', requestId: answer.requestId, slots, steps: work.steps };
  }
}
