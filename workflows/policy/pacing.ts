/**
 * The main entry: when may this mailbox send next, and recording the slots
 * it hands out. Time and randomness are parameters (workflow-safe).
 */
import { insertSorted, lowerBound, sortedGrants } from './grants';
import { evaluateSlot, slotContext } from './slot-check';
import { DAY_MS } from './time-zone';
import { firstCommonInstant } from './window-overlap';
import type { BlockReason, MailboxPolicySettings, PolicyState, SlotDecision, WindowConstraint } from './types';

/** How far past the last known blocker (now, cooldown end, next earliest) earliestSlot looks. */
export const SLOT_LOOKAHEAD_MS = 14 * DAY_MS;
/** Safety bound on search steps; real searches take a handful. */
export const SLOT_MAX_STEPS = 1000;

/**
 * The earliest instant >= nowMs at which one more send is allowed.
 * reason is 'ok' when that is nowMs, else the first rule that blocked at nowMs
 * (in the order paused, cooldown, outside_window, warmup_cap/daily_cap,
 * hourly_cap, min_interval).
 *
 * at is null when paused, and also when nothing is allowed within 14 days of
 * the latest of nowMs, cooldownUntil and nextEarliestAt (a window without
 * days, a zero cap): then reason says why ('outside_window' for an empty window).
 *
 * `extra` (e.g. a campaign's window, read in its own zone) narrows the search
 * to instants inside both windows; outside it only, the reason is
 * 'campaign_window' (checked right after the mailbox's own window). When at
 * is null and the two windows never share an instant within a year of nowMs
 * (windowsCanOverlap), the reason is 'campaign_window' whatever blocked at
 * nowMs; when they first share one beyond the look-ahead, the reason is
 * 'campaign_window' too and retryAt is that instant. Without `extra` the
 * result is what it always was.
 */
export function earliestSlot(
  settings: MailboxPolicySettings,
  state: PolicyState,
  nowMs: number,
  extra?: WindowConstraint | null,
): SlotDecision {
  if (state.paused) return { at: null, reason: 'paused' };
  const ctx = slotContext(settings, state, extra);
  const horizon = Math.max(nowMs, state.cooldownUntil ?? nowMs, state.nextEarliestAt ?? nowMs) + SLOT_LOOKAHEAD_MS;
  let first: BlockReason | null = null;
  let t = nowMs;
  for (let step = 0; step < SLOT_MAX_STEPS; step++) {
    const verdict = evaluateSlot(ctx, t);
    if (verdict.reason === 'ok') return { at: t, reason: first ?? 'ok' };
    first ??= verdict.reason;
    if (verdict.next === null || verdict.next > horizon) break;
    t = verdict.next > t ? verdict.next : t + 1; // every step moves forward
  }
  if (extra) {
    const common = firstCommonInstant({ window: settings.window, timezone: settings.timezone }, extra, nowMs);
    if (common === null) return { at: null, reason: 'campaign_window' };
    if (common > horizon) return { at: null, reason: 'campaign_window', retryAt: common };
  }
  return { at: null, reason: first ?? 'outside_window' };
}

/**
 * Records a grant at `at`, which must be allowed now (it came from
 * earliestSlot on this same state, with the same `extra` window); throws
 * otherwise, because granting it would break a cap or a window.
 *
 * nextEarliestAt = at + minInterval * (1 + jitterRatio * random01), rounded up
 * to whole ms: minIntervalSeconds is a hard floor and jitter only adds to it.
 * (It cannot move backwards: an allowed `at` is >= the old nextEarliestAt.)
 *
 * Does not prune: it does not know the current time (`at` may be a
 * reservation days ahead), and a grant that looks stale from `at` still counts
 * for today's slots once that reservation is released. Pruning happens in
 * pruneGrants(settings, state, nowMs), which applyOutcome calls.
 */
export function recordGrant(
  settings: MailboxPolicySettings,
  state: PolicyState,
  at: number,
  random01: number,
  extra?: WindowConstraint | null,
): PolicyState {
  if (!(random01 >= 0 && random01 < 1)) throw new RangeError(`recordGrant: random01 must be in [0, 1), got ${random01}`);
  if (!Number.isFinite(at)) throw new RangeError(`recordGrant: at must be a finite epoch ms, got ${at}`);
  const verdict = evaluateSlot(slotContext(settings, state, extra), at);
  if (verdict.reason !== 'ok') {
    throw new Error(`recordGrant: a send at ${new Date(at).toISOString()} is not allowed (${verdict.reason})`);
  }
  const { minIntervalSeconds, jitterRatio } = settings.limits;
  const spacing = Math.max(0, minIntervalSeconds) * 1000 * (1 + Math.max(0, jitterRatio) * random01);
  const next = Math.ceil(at + spacing);
  return {
    ...state,
    grants: insertSorted(sortedGrants(state), at),
    nextEarliestAt: next,
    recentOutcomes: [...state.recentOutcomes],
  };
}

/**
 * Gives back a reserved slot that was not used (e.g. its campaign paused):
 * removes one grant equal to `at`; no change when there is none.
 *
 * When it was the latest grant, nextEarliestAt moves back to the new latest
 * grant plus the same spacing the released one had (at least the minimum
 * interval, so never below what the remaining grants need); with no grant
 * left it becomes null. Releasing an earlier grant leaves it alone.
 */
export function releaseGrant(state: PolicyState, at: number): PolicyState {
  const g = sortedGrants(state);
  const i = lowerBound(g, at);
  if (i >= g.length || g[i] !== at) return { ...state, grants: [...g], recentOutcomes: [...state.recentOutcomes] };
  const grants = [...g.slice(0, i), ...g.slice(i + 1)];
  let nextEarliestAt = state.nextEarliestAt;
  const wasLatest = i === g.length - 1;
  if (wasLatest && nextEarliestAt !== null) {
    const last = grants[grants.length - 1];
    if (last === undefined) nextEarliestAt = null;
    else if (last !== at) nextEarliestAt = last + Math.max(0, nextEarliestAt - at);
  }
  return { ...state, grants, nextEarliestAt, recentOutcomes: [...state.recentOutcomes] };
}
