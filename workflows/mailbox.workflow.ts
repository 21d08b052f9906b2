import {
  allHandlersFinished,
  condition,
  makeContinueAsNewFunc,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  addPause,
  adoptPauses,
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
  removePause,
  resume,
  validatePolicySettings,
  validateTimezone,
  warmupDay,
  windowErrors,
  type MailboxPolicySettings,
  type PauseKind,
  type PolicyState,
} from './policy';
import {
  batchSlotId,
  HISTORY_CAP_PATCH,
  SHORT_RUNS_PATCH,
  ONE_REPUTATION_RULE_PATCH,
  PAUSE_REASONS_PATCH,
  pauseUpdate,
  releaseSlotSignal,
  reportOutcomeSignal,
  reportOutcomesSignal,
  reserveSlotUpdate,
  resumeUpdate,
  stateQuery,
  updateSettingsUpdate,
  type GrantedSlot,
  type MailboxLiveState,
  type MailboxStatus,
  type MailboxWorkflowInput,
  type OutcomeReport,
  type OutstandingGrant,
  type PauseView,
  type ReserveAnswer,
} from './messages/mailbox';
import { LONG_RUN_TASK_TIMEOUT } from './run-limits';
import { SA_STATUS } from './search-attributes';

// The messages' definitions live in ./messages/mailbox; these re-exports keep older importers (tests, scripts) working.
export * from './messages/mailbox';

const { setMailboxStatus } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 20, maximumInterval: '1 minute' },
});

export const DEFAULT_MAX_EVENTS_PER_RUN = 1000; // well under the server's 2,000 updates per run
/**
 * A message costs 2 to 5 history events, so 1,000 messages made runs of up to
 * about 4,600 events. A worker that lost its cache replays the whole run, and
 * on a loaded machine a 4,600-event replay outlasted the workflow task
 * timeout, so every retry replayed again (a busy mailbox stuck for minutes).
 * Capping the run's history keeps a cold replay short.
 */
export const DEFAULT_MAX_HISTORY_PER_RUN = 1000;
/**
 * Runs recorded under HISTORY_CAP_PATCH but before SHORT_RUNS_PATCH capped at
 * this many events. 2,000-event mailbox runs still took 7 to 15 s to replay on
 * a loaded 2-core machine, past the workflow task timeout; at the defaults
 * (50 a day) a mailbox now continues as new about daily, which also moves it
 * onto the newest workflow code.
 */
export const LEGACY_MAX_HISTORY_PER_RUN = 2000;
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
  let settings: MailboxPolicySettings = input.settings;
  let state: PolicyState = input.state ?? initialPolicyState();
  const outstanding = new Map<string, OutstandingGrant>((input.outstanding ?? []).map((g) => [g.requestId, g]));
  const grantsByCampaign: Record<string, number> = { ...(input.grantsByCampaign ?? {}) };
  const maxEvents = input.maxEventsPerRun ?? DEFAULT_MAX_EVENTS_PER_RUN;
  const capped = patched(HISTORY_CAP_PATCH);
  const maxHistory = !capped
    ? Infinity
    : (input.maxHistoryPerRun ?? (patched(SHORT_RUNS_PATCH) ? DEFAULT_MAX_HISTORY_PER_RUN : LEGACY_MAX_HISTORY_PER_RUN));
  const horizon = input.grantHorizonMs ?? DEFAULT_GRANT_HORIZON_MS;
  const now = () => Date.now(); // workflow time: deterministic in the sandbox
  // Since pause reasons: a set of reasons (policy/pauses.ts), written to PostgreSQL whenever it changes.
  const withReasons = patched(PAUSE_REASONS_PATCH);
  // A state carried from a run before pause reasons: its reasons are adopted from its pause, and written once.
  const adopting = withReasons && input.state !== undefined && input.state.pauses === undefined;
  if (withReasons) state = adoptPauses(state, now());
  let events = 0;
  let lastStatus: MailboxStatus | null = null;
  let statusDirty = false;

  /** Reservations whose time has passed are treated as used (their grant keeps counting toward caps). */
  const expireOutstanding = (t: number) => {
    for (const [id, g] of outstanding) if (g.at + 15 * 60_000 < t) outstanding.delete(id);
  };

  const status = (t: number): MailboxStatus =>
    state.paused ? 'paused' : state.cooldownUntil !== null && state.cooldownUntil > t ? 'cooling_down' : 'active';

  const pauseViews = (): PauseView[] =>
    (state.pauses ?? []).map((p) => ({ kind: p.kind, reason: p.reason, since: new Date(p.since).toISOString(), until: p.until === null ? null : new Date(p.until).toISOString() }));
  /** What was last written to PostgreSQL (since pause reasons): the status and the set. */
  const written = () => JSON.stringify([state.paused, pauseViews()]);
  let lastWritten = adopting ? '' : written();
  let writing: Promise<void> = Promise.resolve();
  /**
   * Since pause reasons: writes the status and the set to PostgreSQL when they
   * changed since the last write, one write at a time, each writing the state
   * of its own start. A pause or resume awaits it before answering, so a list
   * read after the answer agrees. A write that fails every retry is logged and
   * tried again at the next change.
   */
  let writesInFlight = 0;
  const persist = (): Promise<void> => {
    writesInFlight++;
    writing = writing.then(async () => {
      const current = written();
      if (current === lastWritten) return;
      lastWritten = current;
      const s = state.paused ? 'paused' : 'active';
      if (s !== lastStatus) {
        lastStatus = s;
        upsertSearchAttributes([{ key: SA_STATUS, value: s }]);
      }
      try {
        await setMailboxStatus({ mailboxId: input.mailboxId, status: s, reason: state.pauseReason, pauses: pauseViews() });
      } catch (err) {
        lastWritten = '';
        log.warn('mailbox status not written; retried at the next change', { error: (err as Error).message });
      }
    }).finally(() => {
      writesInFlight--;
    });
    return writing;
  };

  const live = (at?: number): MailboxLiveState => {
    const t = Math.max(now(), at ?? 0);
    const next = earliestSlot(settings, state, t);
    return {
      status: status(t),
      pauseReason: state.pauseReason,
      pauses: withReasons ? pauseViews() : state.paused ? [{ kind: 'user', reason: state.pauseReason ?? 'paused', since: new Date(0).toISOString(), until: null }] : [],
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

  const markStatus = (): Promise<void> => {
    if (withReasons) return persist();
    const s = status(now()) === 'paused' ? 'paused' : 'active';
    if (s !== lastStatus) statusDirty = true;
    return Promise.resolve();
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
    void markStatus();
  };

  setHandler(reportOutcomeSignal, (report) => {
    events++;
    applyReport(report);
  });

  setHandler(reportOutcomesSignal, ({ batchId, from, outcomes }) => {
    events++;
    outcomes.forEach((o, i) => applyReport({ requestId: batchSlotId(batchId, (from ?? 0) + i), ...o }));
  });

  setHandler(pauseUpdate, async ({ reason, kind, until }) => {
    events++;
    const why = reason ?? 'paused by user';
    state = withReasons ? addPause(state, { kind: kind ?? 'user', reason: why, since: now(), until: until ?? null }) : pause(state, why);
    await markStatus(); // since pause reasons: answered once PostgreSQL has it
    return live();
  });

  setHandler(resumeUpdate, async (req) => {
    events++;
    // Histories recorded before pause reasons resumed with no argument at all.
    const kind = (req as { kind?: PauseKind } | undefined)?.kind ?? 'user';
    state = withReasons ? removePause(state, kind) : resume(state);
    await markStatus();
    return live();
  });

  setHandler(
    updateSettingsUpdate,
    (next) => {
      events++;
      // Grants, reservations and cooldowns stay: a lower cap counts what was already sent today.
      settings = next;
      return live();
    },
    {
      validator: (next) => {
        const errors = next && typeof next === 'object' && next.limits && next.window ? validatePolicySettings(next) : ['settings: must be {timezone, window, limits, warmup}'];
        if (errors.length > 0) throw new Error(`updateSettings: invalid settings: ${errors.join('; ')}`);
      },
    },
  );

  setHandler(stateQuery, (at) => live(at));

  lastStatus = status(now()) === 'paused' ? 'paused' : 'active';
  if (adopting) void persist();
  for (;;) {
    await condition(() => statusDirty || events >= maxEvents || workflowInfo().historyLength >= maxHistory || workflowInfo().continueAsNewSuggested);
    if (statusDirty) {
      statusDirty = false;
      // Runs before pause reasons only (since then, persist() writes every change).
      const s = state.paused ? 'paused' : 'active';
      if (s !== lastStatus) {
        lastStatus = s;
        upsertSearchAttributes([{ key: SA_STATUS, value: s }]);
        await setMailboxStatus({ mailboxId: input.mailboxId, status: s, reason: state.pauseReason });
      }
      continue;
    }
    // Continue as new: let every handler and every status write finish first, then carry all state. One condition,
    // and nothing awaited after it: an Update handled while a write was in flight completes in the same activation,
    // and its answer must go out before the continue-as-new (which must be the task's last command).
    await condition(() => allHandlersFinished() && writesInFlight === 0);
    const t = now();
    expireOutstanding(t);
    await makeContinueAsNewFunc<typeof mailboxWorkflow>({ workflowTaskTimeout: LONG_RUN_TASK_TIMEOUT })({
      ...input,
      settings,
      state: pruneGrants(settings, state, t),
      outstanding: [...outstanding.values()],
      grantsByCampaign,
    });
  }
}
