import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  applyOutcome,
  countSentThisHour,
  countSentToday,
  dailyCap,
  earliestSlot,
  initialPolicyState,
  pause,
  pruneGrants,
  recordGrant,
  releaseGrant,
  resume,
  validateTimezone,
  warmupDay,
  windowErrors,
  type BlockReason,
  type MailboxPolicySettings,
  type Outcome,
  type PolicyState,
  type WindowConstraint,
} from './policy';
import { SA_STATUS } from './search-attributes';

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
export const pauseUpdate = defineUpdate<MailboxLiveState, [{ reason?: string }]>('pause');
export const resumeUpdate = defineUpdate<MailboxLiveState, []>('resume');
/** Pass the caller's clock: a query does not advance workflow time, so an idle mailbox's own "now" is stale. */
export const stateQuery = defineQuery<MailboxLiveState, [number?]>('state');

const { setMailboxStatus } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 20, maximumInterval: '1 minute' },
});

/**
 * The patch under which the mailbox stops judging bounces itself (its ring of
 * recent outcomes) and applies only the one reputation rule's verdict carried
 * by a bounced or complained report (workflows/policy/mailbox-reputation.ts).
 */
export const ONE_REPUTATION_RULE_PATCH = 'one-reputation-rule';

export const DEFAULT_MAX_EVENTS_PER_RUN = 1000; // well under the server's 2,000 updates per run
/**
 * A message costs 2 to 5 history events, so 1,000 messages made runs of up to
 * about 4,600 events. A worker that lost its cache replays the whole run, and
 * on a loaded machine a 4,600-event replay outlasted the workflow task
 * timeout, so every retry replayed again (a busy mailbox stuck for minutes).
 * Capping the run's history keeps a cold replay short.
 */
export const DEFAULT_MAX_HISTORY_PER_RUN = 2000;
/** Runs recorded before it continued as new on the message counter alone. */
export const HISTORY_CAP_PATCH = 'mailbox-history-cap';
export const DEFAULT_GRANT_HORIZON_MS = 6 * 60 * 60 * 1000;
/** The most slots one reservation can take. */
export const MAX_BATCH = 100;

/**
 * One per sender mailbox, forever: grants send slots under its own warm-up,
 * caps, interval, window and cooldown (the rules live in ./policy), fair
 * between campaigns: a campaign holds at most one unused slot at a time, so
 * competing campaigns take turns. Continues as new on its own counter, after
 * every handler has finished, carrying all state.
 */
export async function mailboxWorkflow(input: MailboxWorkflowInput): Promise<void> {
  const settings = input.settings;
  let state: PolicyState = input.state ?? initialPolicyState();
  const outstanding = new Map<string, OutstandingGrant>((input.outstanding ?? []).map((g) => [g.requestId, g]));
  const grantsByCampaign: Record<string, number> = { ...(input.grantsByCampaign ?? {}) };
  const maxEvents = input.maxEventsPerRun ?? DEFAULT_MAX_EVENTS_PER_RUN;
  const maxHistory = patched(HISTORY_CAP_PATCH) ? (input.maxHistoryPerRun ?? DEFAULT_MAX_HISTORY_PER_RUN) : Infinity;
  const horizon = input.grantHorizonMs ?? DEFAULT_GRANT_HORIZON_MS;
  let events = 0;
  let lastStatus: MailboxStatus | null = null;
  let statusDirty = false;

  const now = () => Date.now(); // workflow time: deterministic in the sandbox

  /** Reservations whose time has passed are treated as used (their grant keeps counting toward caps). */
  const expireOutstanding = (t: number) => {
    for (const [id, g] of outstanding) if (g.at + 15 * 60_000 < t) outstanding.delete(id);
  };

  const status = (t: number): MailboxStatus =>
    state.paused ? 'paused' : state.cooldownUntil !== null && state.cooldownUntil > t ? 'cooling_down' : 'active';

  const live = (at?: number): MailboxLiveState => {
    const t = Math.max(now(), at ?? 0);
    const next = earliestSlot(settings, state, t);
    return {
      status: status(t),
      pauseReason: state.pauseReason,
      warmupDay: warmupDay(settings, t),
      dailyCap: dailyCap(settings, t),
      sentToday: countSentToday(settings, { ...state, grants: state.grants.filter((g) => g <= t) }, t),
      sentThisHour: countSentThisHour({ ...state, grants: state.grants.filter((g) => g <= t) }, t),
      nextSlotAt: next.at === null ? null : new Date(next.at).toISOString(),
      cooldownUntil: state.cooldownUntil !== null && state.cooldownUntil > t ? new Date(state.cooldownUntil).toISOString() : null,
      outstanding: outstanding.size,
      runEvents: events,
    };
  };

  const markStatus = () => {
    const s = status(now()) === 'paused' ? 'paused' : 'active';
    if (s !== lastStatus) statusDirty = true;
  };

  setHandler(
    reserveSlotUpdate,
    (req): ReserveAnswer => {
      events++;
      const t = now();
      const existing = outstanding.get(req.requestId);
      if (existing) {
        // A retried request: the same answer, with whatever of its batch is still outstanding.
        const slots = [...outstanding.values()]
          .filter((g) => g.requestId === req.requestId || g.batchId === req.requestId)
          .map((g) => ({ requestId: g.requestId, at: g.at }));
        return { granted: true, at: existing.at, requestId: existing.requestId, slots };
      }
      if (req.report) {
        const { batchId, from, outcomes } = req.report;
        outcomes.forEach((o, i) => applyReport({ requestId: batchSlotId(batchId, (from ?? 0) + i), ...o }));
      }
      expireOutstanding(t);
      if (req.holder !== undefined) {
        // Slots of this campaign held for a lane that is gone: a past one stays counted (it may have been used), a future one is freed.
        for (const [id, g] of outstanding) {
          if (g.campaignId !== req.campaignId || g.holder === req.holder) continue;
          outstanding.delete(id);
          if (g.at > t) state = releaseGrant(state, g.at);
        }
      }
      const held = [...outstanding.values()].find((g) => g.campaignId === req.campaignId);
      if (held) return { granted: false, retryAt: held.at, reason: 'campaign_has_slot' };
      const extra = req.window;
      const slot = earliestSlot(settings, state, t, extra);
      if (slot.at === null) {
        return { granted: false, retryAt: slot.retryAt ?? null, reason: slot.reason === 'ok' ? 'outside_window' : slot.reason };
      }
      const reach = req.horizonMs !== undefined ? Math.min(horizon, Math.max(0, req.horizonMs)) : horizon;
      if (slot.at > t + reach) {
        return { granted: false, retryAt: slot.at - reach, reason: 'beyond_horizon', ...(slot.reason !== 'ok' ? { blockedBy: slot.reason } : {}) };
      }
      const first = slot.at;
      const count = Math.max(1, Math.min(req.count ?? 1, MAX_BATCH));
      const slots: GrantedSlot[] = [];
      for (let at: number | null = first; at !== null && slots.length < count; ) {
        const requestId = batchSlotId(req.requestId, slots.length);
        state = recordGrant(settings, state, at, Math.random(), extra); // the SDK's seeded, replay-safe PRNG
        outstanding.set(requestId, { requestId, campaignId: req.campaignId, at, batchId: req.requestId, ...(req.holder !== undefined ? { holder: req.holder } : {}) });
        slots.push({ requestId, at });
        const next = earliestSlot(settings, state, t, extra).at;
        at = next !== null && next <= first + (req.withinMs ?? 0) && next <= t + reach ? next : null;
      }
      grantsByCampaign[req.campaignId] = (grantsByCampaign[req.campaignId] ?? 0) + slots.length;
      return { granted: true, at: first, requestId: req.requestId, slots };
    },
    {
      validator: (req) => {
        if (!req || typeof req.requestId !== 'string' || req.requestId === '' || typeof req.campaignId !== 'string') {
          throw new Error('reserveSlot needs requestId and campaignId');
        }
        if (req.window !== undefined) {
          // Rejected here, before anything is written: an invalid window would make the handler throw.
          const w = req.window;
          const errors = w && typeof w === 'object' && w.window && typeof w.window === 'object' ? windowErrors(w.window) : ['window: must be {window, timezone}'];
          if (w && !validateTimezone(w.timezone)) errors.push(`window.timezone: unknown time zone '${String(w.timezone)}'`);
          if (errors.length > 0) throw new Error(`reserveSlot: invalid window: ${errors.join('; ')}`);
        }
      },
    },
  );

  setHandler(releaseSlotSignal, ({ requestId }) => {
    events++;
    const g = outstanding.get(requestId);
    if (!g) return;
    outstanding.delete(requestId);
    if (g.at > now()) state = releaseGrant(state, g.at); // only a slot still in the future can be given back
  });

  const applyReport = (report: OutcomeReport) => {
    const t = now();
    const g = outstanding.get(report.requestId);
    outstanding.delete(report.requestId);
    if (report.outcome === 'skipped') {
      // Certainly not used (no lead for it, the campaign paused): it does not count toward any cap.
      if (g) state = releaseGrant(state, g.at);
      return;
    }
    if (report.outcome === 'failed') {
      // It may have been attempted: only a slot still in the future is given back.
      if (g && g.at > t) state = releaseGrant(state, g.at);
      return;
    }
    if (report.outcome === 'throttled' && g) state = releaseGrant(state, g.at); // not sent: the slot is free again
    // Histories recorded before the one reputation rule replay with the mailbox's old ring of outcomes.
    const ringOutcome = report.outcome === 'sent' || report.outcome === 'bounced' || report.outcome === 'complained';
    const legacyRing = ringOutcome && !patched(ONE_REPUTATION_RULE_PATCH);
    state = applyOutcome(settings, state, report.outcome, t, { retryAfterMs: report.retryAfterMs, legacyRing }).state;
    markStatus();
  };

  setHandler(reportOutcomeSignal, (report) => {
    events++;
    applyReport(report);
  });

  setHandler(reportOutcomesSignal, ({ batchId, from, outcomes }) => {
    events++;
    outcomes.forEach((o, i) => applyReport({ requestId: batchSlotId(batchId, (from ?? 0) + i), ...o }));
  });

  setHandler(pauseUpdate, ({ reason }) => {
    events++;
    state = pause(state, reason ?? 'paused by user');
    markStatus();
    return live();
  });

  setHandler(resumeUpdate, () => {
    events++;
    state = resume(state);
    markStatus();
    return live();
  });

  setHandler(stateQuery, (at) => live(at));

  lastStatus = status(now()) === 'paused' ? 'paused' : 'active';
  for (;;) {
    await condition(() => statusDirty || events >= maxEvents || workflowInfo().historyLength >= maxHistory || workflowInfo().continueAsNewSuggested);
    if (statusDirty) {
      statusDirty = false;
      const s = state.paused ? 'paused' : 'active';
      if (s !== lastStatus) {
        lastStatus = s;
        upsertSearchAttributes([{ key: SA_STATUS, value: s }]);
        await setMailboxStatus({ mailboxId: input.mailboxId, status: s, reason: state.pauseReason });
      }
      continue;
    }
    // Continue as new: let every handler finish first, then carry all state.
    await condition(allHandlersFinished);
    const t = now();
    expireOutstanding(t);
    await continueAsNew<typeof mailboxWorkflow>({
      ...input,
      state: pruneGrants(settings, state, t),
      outstanding: [...outstanding.values()],
      grantsByCampaign,
    });
  }
}
