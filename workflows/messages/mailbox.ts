/**
 * Messages of the mailbox workflow (mailbox-<address>): definitions and types
 * only, so the API and activities never load a workflow body.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { BlockReason, MailboxPolicySettings, Outcome, PauseKind, PauseView, PolicyState, WindowConstraint } from '../policy';

export type { PauseView };

/** A reservation handed to a campaign: used, reported or released later. */
export interface OutstandingGrant {
  requestId: string;
  campaignId: string;
  at: number;
  /** The reservation that granted it, when it came in a batch. */
  batchId?: string;
  holder?: string;
}

export interface MailboxWorkflowInput {
  mailboxId: string;
  address: string;
  settings: MailboxPolicySettings;
  /** Carried across continue-as-new. */
  state?: PolicyState;
  outstanding?: OutstandingGrant[];
  grantsByCampaign?: Record<string, number>;
  /** Messages handled per run before continuing as new (tests force it small). */
  maxEventsPerRun?: number;
  /** History events per run before continuing as new (runs started since the history-cap patch). */
  maxHistoryPerRun?: number;
  /** How far ahead a slot may be granted; later answers are "try again at". */
  grantHorizonMs?: number;
}

export interface ReserveRequest {
  requestId: string;
  campaignId: string;
  /**
   * Up to this many slots in one answer (default 1), as long as each falls
   * within `withinMs` of the first. A paced mailbox (minimum interval) still
   * grants one; one with room now grants a batch, saving a round trip per send.
   */
  count?: number;
  withinMs?: number;
  /**
   * Grant no slot further away than this (under the mailbox's own horizon):
   * a later slot is answered "try again at" that slot minus this, so a lane
   * never holds, and gives back, a slot it would sleep hours for.
   */
  horizonMs?: number;
  /**
   * The requesting lane (its workflow run). A campaign has one lane per
   * mailbox at a time, so a slot the campaign holds for another holder was
   * left by a run that is gone (terminated, failed): it is dropped, not waited out.
   */
  holder?: string;
  /**
   * An extra window this request's slots must also fall in, read in its own
   * zone (a campaign's window): every slot of the answer is inside both it
   * and the mailbox's window. When the two can never share an instant the
   * answer is { granted: false, retryAt: null, reason: 'campaign_window' }.
   * An invalid window or zone is rejected by the Update's validator.
   */
  window?: WindowConstraint;
  /**
   * The outcomes of the requester's previous batch, applied before this
   * request is answered: the lane's next reservation carries them instead of
   * a signal of their own (one action less per paced send).
   */
  report?: BatchOutcomes;
}

/** One granted slot of a batch; its request id is what outcomes and releases name. */
export interface GrantedSlot {
  requestId: string;
  at: number;
}

export type ReserveAnswer =
  | { granted: true; at: number; requestId: string; slots?: GrantedSlot[] }
  /** blockedBy: with 'beyond_horizon', the rule that keeps the mailbox from sending now (a cap, the window, a cooldown). */
  | { granted: false; retryAt: number | null; reason: BlockReason | 'campaign_has_slot' | 'beyond_horizon'; blockedBy?: BlockReason };

export interface OutcomeReport {
  requestId: string;
  /** 'skipped': the slot was certainly not used; 'failed': the send failed (it may have been attempted). */
  outcome: Outcome | 'failed' | 'skipped';
  retryAfterMs?: number;
}

export type MailboxStatus = 'active' | 'paused' | 'cooling_down';


export interface MailboxLiveState {
  status: MailboxStatus;
  pauseReason: string | null;
  /** Every reason it may not send now; empty when it may. */
  pauses: PauseView[];
  warmupDay: number | null;
  dailyCap: number;
  sentToday: number;
  sentThisHour: number;
  nextSlotAt: string | null;
  cooldownUntil: string | null;
  outstanding: number;
  runEvents: number;
}

export const reserveSlotUpdate = defineUpdate<ReserveAnswer, [ReserveRequest]>('reserveSlot');
export const releaseSlotSignal = defineSignal<[{ requestId: string }]>('releaseSlot');
export const reportOutcomeSignal = defineSignal<[OutcomeReport]>('reportOutcome');
/**
 * A batch's outcomes in one signal: entry i is slot from + i of the reservation
 * `batchId` (the batch's first request id); 'skipped' gives an unused slot back.
 */
export interface BatchOutcomes {
  batchId: string;
  /** Index of the slot outcomes[0] is for (default 0). */
  from?: number;
  outcomes: { outcome: OutcomeReport['outcome']; retryAfterMs?: number }[];
}
export const reportOutcomesSignal = defineSignal<[BatchOutcomes]>('reportOutcomes');

/** The request id of slot i of a batch reservation. */
export function batchSlotId(batchId: string, i: number): string {
  return i === 0 ? batchId : `${batchId}#${i}`;
}
export interface PauseRequest {
  /** Free text: who paused it and why. */
  reason?: string;
  /** Default 'user'. */
  kind?: PauseKind;
  /** When it is expected to end (a timed rest), epoch ms. */
  until?: number | null;
}
export const pauseUpdate = defineUpdate<MailboxLiveState, [PauseRequest]>('pause');
/** Takes one reason away (default 'user'); runs recorded before pause reasons clear every pause. */
export const resumeUpdate = defineUpdate<MailboxLiveState, [{ kind?: PauseKind }]>('resume');
/**
 * New settings for a running mailbox (PATCH /v1/mailboxes/:id). Today's and
 * this hour's counts, reservations and cooldowns are kept: the new caps apply
 * to what was already sent. Invalid settings are rejected by its validator.
 */
export const updateSettingsUpdate = defineUpdate<MailboxLiveState, [MailboxPolicySettings]>('updateSettings');
/** Pass the caller's clock: a query does not advance workflow time, so an idle mailbox's own "now" is stale. */
export const stateQuery = defineQuery<MailboxLiveState, [number?]>('state');

/** What the mailbox workflow writes to PostgreSQL, the one writer of a mailbox's status (activities/mailbox.activity.ts). */
export interface MailboxStatusWrite {
  mailboxId: string;
  status: 'active' | 'paused';
  reason: string | null;
  /** Absent from runs recorded before pause reasons. */
  pauses?: PauseView[];
}

/**
 * The patch under which the mailbox stops judging bounces itself (its ring of
 * recent outcomes) and applies only the one reputation rule's verdict carried
 * by a bounced or complained report (workflows/policy/mailbox-reputation.ts).
 */
export const ONE_REPUTATION_RULE_PATCH = 'one-reputation-rule';
/** Runs recorded before it continued as new on the message counter alone. */
export const HISTORY_CAP_PATCH = 'mailbox-history-cap';
/** Runs recorded before it capped a run's history at 1,000 events (2,000 before). */
export const SHORT_RUNS_PATCH = 'mailbox-short-runs';
/**
 * Runs recorded before pause reasons: one pause flag, cleared by any resume,
 * and a status write only when paused and active swap.
 */
export const PAUSE_REASONS_PATCH = 'mailbox-pause-reasons';
