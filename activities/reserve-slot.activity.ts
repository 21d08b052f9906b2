import { ApplicationFailure } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { availableWork } from '../db/repositories/lead-work';
import { mailboxWorkflowId } from '../workflows/ids';
import { reportOutcomesSignal, reserveSlotUpdate, type ReserveAnswer, type ReserveRequest } from '../workflows/mailbox.workflow';
import type { ActivityDeps } from './deps';
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
  /** The campaign's window: slots fall inside it and the mailbox's. */
  window?: WindowConstraint | null;
}

export type ReserveBatchResult =
  /** Slot i's request id is batchSlotId(requestId, i); sendBatch claims a lead per slot; steps: the 0-based steps of the work waiting (for the activity summary). */
  | { kind: 'batch'; requestId: string; slots: number[]; steps: number[] }
  /** Nothing to send now (no lead left or due); nextDueAt: when a follow-up falls due for this lane, if one will. */
  | { kind: 'idle'; nextDueAt?: number | null }
  /** No slot yet: ask again at retryAt; null means the mailbox is paused or will never open. */
  | { kind: 'wait'; retryAt: number | null; reason: Extract<ReserveAnswer, { granted: false }>['reason']; blockedBy?: BlockReason };

export function reserveSlotActivities({ client, pool }: ActivityDeps) {
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

  return {
    /**
     * Asks a mailbox workflow for a send slot (a workflow cannot send an
     * Update itself). The request id doubles as the Update id, so a retried
     * activity gets the same answer instead of a second slot.
     */
    async reserveMailboxSlot(input: { address: string; campaignId: string; requestId: string }): Promise<ReserveAnswer> {
      return reserve(input.address, { requestId: input.requestId, campaignId: input.campaignId });
    },

    /**
     * One lane step: reserve as many slots on the mailbox as the lane has work
     * for (its own due leads plus a fair share of the unassigned ones, at most
     * `max`). No lead is claimed here: sendBatch claims one per slot, so a
     * lead never waits on a mailbox that may not send it soon.
     */
    async reserveBatch(input: ReserveBatchInput): Promise<ReserveBatchResult> {
      const lanes = Math.max(1, input.lanes);
      const work = await availableWork(pool, input.campaignId, input.mailboxId, input.max * lanes);
      const share = work.unassigned > 0 ? Math.max(1, Math.floor(work.unassigned / lanes)) : 0;
      const want = Math.min(input.max, work.own + share);
      if (want === 0) return { kind: 'idle', nextDueAt: work.nextDueAt };
      const answer = await reserve(input.address, {
        requestId: input.requestId,
        campaignId: input.campaignId,
        count: want,
        withinMs: input.withinMs,
        horizonMs: input.maxWaitMs,
        ...(input.holder !== undefined ? { holder: input.holder } : {}),
        ...(input.window ? { window: input.window } : {}),
      });
      if (!answer.granted) return { kind: 'wait', retryAt: answer.retryAt, reason: answer.reason, ...(answer.blockedBy ? { blockedBy: answer.blockedBy } : {}) };
      const slots = (answer.slots ?? [{ requestId: answer.requestId, at: answer.at }]).map((s) => s.at);
      if (answer.at - Date.now() > input.maxWaitMs) {
        // Too far off to hold for: give the slots back and come back then.
        await client.workflow
          .getHandle(mailboxWorkflowId(input.address))
          .signal(reportOutcomesSignal, { batchId: answer.requestId, outcomes: slots.map(() => ({ outcome: 'skipped' as const })) });
        return { kind: 'wait', retryAt: answer.at, reason: 'beyond_horizon' };
      }
      return { kind: 'batch', requestId: answer.requestId, slots, steps: work.steps };
    },
  };
}
