/**
 * Whether one more send is allowed at an instant, and if not, which rule
 * blocks it and the earliest later instant that rule could allow.
 *
 * Grants are a set: every rule counts grants on both sides of t, so future
 * reservations and released gaps are handled the same way as past sends.
 * Rules are checked in the order of BlockReason: paused, cooldown,
 * outside_window, campaign_window (only with an extra window), warmup_cap /
 * daily_cap, hourly_cap, min_interval.
 *
 * Every `next` is a safe jump: no instant in [t, next) can be allowed,
 * so a search that follows them never skips a slot.
 */
import { capOfDate } from './warmup';
import { sortedGrants, lowerBound, upperBound, countInRange } from './grants';
import { HOUR_MS, localDateTime, localMidnight, nextDate } from './time-zone';
import { compileWindow, insideCompiled, nextOpeningCompiled, type CompiledWindow } from './window';
import type { BlockReason, MailboxPolicySettings, PolicyState, WindowConstraint } from './types';

export interface SlotContext {
  settings: MailboxPolicySettings;
  state: PolicyState;
  window: CompiledWindow;
  /** The extra window (e.g. a campaign's) compiled, with its own zone; null when none was given. */
  extra: { window: CompiledWindow; timezone: string } | null;
  grants: readonly number[];
  intervalMs: number;
  hourlyMax: number;
}

export type Verdict = { reason: 'ok' } | { reason: BlockReason; next: number | null };

/** Throws a RangeError when the mailbox's window or the extra window is invalid. */
export function slotContext(settings: MailboxPolicySettings, state: PolicyState, extra?: WindowConstraint | null): SlotContext {
  return {
    settings,
    state,
    window: compileWindow(settings.window),
    extra: extra ? { window: compileWindow(extra.window), timezone: extra.timezone } : null,
    grants: sortedGrants(state),
    intervalMs: Math.max(0, settings.limits.minIntervalSeconds) * 1000,
    hourlyMax: Math.floor(settings.limits.hourlyMax),
  };
}

/**
 * True when adding t would put more than hourlyMax grants in some 60-minute
 * window: in the sorted list with t inserted, some hourlyMax + 1 consecutive
 * grants that include t span less than an hour.
 */
function hourlyBlocked(grants: readonly number[], t: number, max: number): boolean {
  const p = upperBound(grants, t); // t's index in the merged list
  const n = grants.length; // the merged list has n + 1 entries
  const merged = (k: number) => (k < p ? grants[k] : k === p ? t : grants[k - 1]);
  for (let i = Math.max(0, p - max); i <= p && i + max <= n; i++) {
    if (merged(i + max) - merged(i) < HOUR_MS) return true;
  }
  return false;
}

export function evaluateSlot(ctx: SlotContext, t: number): Verdict {
  const { settings, state, grants } = ctx;
  if (state.paused) return { reason: 'paused', next: null };

  if (state.cooldownUntil !== null && t < state.cooldownUntil) return { reason: 'cooldown', next: state.cooldownUntil };

  const local = localDateTime(t, settings.timezone);
  if (!insideCompiled(ctx.window, local)) {
    return { reason: 'outside_window', next: nextOpeningCompiled(ctx.window, settings.timezone, t) };
  }
  if (ctx.extra !== null && !insideCompiled(ctx.extra.window, localDateTime(t, ctx.extra.timezone))) {
    return { reason: 'campaign_window', next: nextOpeningCompiled(ctx.extra.window, ctx.extra.timezone, t) };
  }

  const dayStart = localMidnight(settings.timezone, local);
  const dayEnd = localMidnight(settings.timezone, nextDate(local));
  const { cap, reason } = capOfDate(settings, local);
  if (countInRange(grants, dayStart, dayEnd) >= cap) return { reason, next: dayEnd };

  if (ctx.hourlyMax < 1) return { reason: 'hourly_cap', next: null };
  if (hourlyBlocked(grants, t, ctx.hourlyMax)) {
    // Only a grant leaving the hour behind t can unblock: the next g + 1 h after t.
    const i = upperBound(grants, t - HOUR_MS);
    return { reason: 'hourly_cap', next: i < grants.length ? grants[i] + HOUR_MS : t + 1 };
  }

  if (state.nextEarliestAt !== null && t < state.nextEarliestAt) return { reason: 'min_interval', next: state.nextEarliestAt };
  if (ctx.intervalMs > 0) {
    // Neighbours closer than the interval on either side: jump past the latest of them.
    const lo = upperBound(grants, t - ctx.intervalMs);
    const hi = lowerBound(grants, t + ctx.intervalMs);
    if (lo < hi) return { reason: 'min_interval', next: grants[hi - 1] + ctx.intervalMs };
  }
  return { reason: 'ok' };
}

/** 'ok' when one more send at t is allowed (inside `extra` too, when given), else the first rule that blocks it. */
export function checkSlot(
  settings: MailboxPolicySettings,
  state: PolicyState,
  t: number,
  extra?: WindowConstraint | null,
): 'ok' | BlockReason {
  return evaluateSlot(slotContext(settings, state, extra), t).reason;
}
