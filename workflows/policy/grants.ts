/**
 * The granted slots of a mailbox: a sorted array of epoch ms, with the
 * counters the caps are checked against and the pruning that keeps it small.
 */
import { HOUR_MS, localDayBounds } from './time-zone';
import type { MailboxPolicySettings, PolicyState } from './types';

/** First index whose value is >= x. */
export function lowerBound(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose value is > x. */
export function upperBound(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** How many values lie in [from, to). */
export function countInRange(sorted: readonly number[], from: number, to: number): number {
  return Math.max(0, lowerBound(sorted, to) - lowerBound(sorted, from));
}

/** The grants ascending; a copy is sorted only when the input is out of order. */
export function sortedGrants(state: PolicyState): readonly number[] {
  const g = state.grants;
  for (let i = 1; i < g.length; i++) {
    if (g[i] < g[i - 1]) return [...g].sort((a, b) => a - b);
  }
  return g;
}

/** Grants in the local calendar day (mailbox time zone) of nowMs, future reservations included. */
export function countSentToday(settings: MailboxPolicySettings, state: PolicyState, nowMs: number): number {
  const { start, end } = localDayBounds(nowMs, settings.timezone);
  return countInRange(sortedGrants(state), start, end);
}

/** Grants in (nowMs - 1 h, nowMs]. */
export function countSentThisHour(state: PolicyState, nowMs: number): number {
  const g = sortedGrants(state);
  return upperBound(g, nowMs) - upperBound(g, nowMs - HOUR_MS);
}

/**
 * The oldest grant time that can still matter to a slot at or after `anchor`:
 * the start of anchor's local day, one hour back, or one minimum interval back.
 */
export function retentionCutoff(settings: MailboxPolicySettings, anchor: number): number {
  const dayStart = localDayBounds(anchor, settings.timezone).start;
  const interval = Math.max(0, settings.limits.minIntervalSeconds) * 1000;
  return Math.min(dayStart, anchor - HOUR_MS, anchor - interval);
}

/** Drops grants that cannot affect any slot at or after nowMs (at most ~26 h are kept, plus future ones). */
export function pruneGrants(settings: MailboxPolicySettings, state: PolicyState, nowMs: number): PolicyState {
  const g = sortedGrants(state);
  const from = lowerBound(g, retentionCutoff(settings, nowMs));
  return { ...state, grants: g.slice(from), recentOutcomes: [...state.recentOutcomes] };
}

/** A new sorted array with x inserted (after any equal values). */
export function insertSorted(sorted: readonly number[], x: number): number[] {
  const i = upperBound(sorted, x);
  return [...sorted.slice(0, i), x, ...sorted.slice(i)];
}
