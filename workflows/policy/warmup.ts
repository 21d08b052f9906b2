/**
 * Warm-up ramp and the daily cap. Warm-up days are local calendar days in the
 * mailbox's time zone: day 0 is `startedOn`, and the day number changes at
 * local midnight, not at UTC midnight.
 */
import { daysBetween, localDateTime, parseLocalDate, type LocalDate } from './time-zone';
import type { BlockReason, MailboxPolicySettings, WarmupSettings } from './types';

/** min(maxPerDay, startPerDay + increasePerDay * day), rounded down; days before 0 count as 0. */
export function warmupCap(w: Pick<WarmupSettings, 'startPerDay' | 'increasePerDay' | 'maxPerDay'>, day: number): number {
  const d = Math.max(0, day);
  return Math.max(0, Math.floor(Math.min(w.maxPerDay, w.startPerDay + w.increasePerDay * d)));
}

function startDate(w: WarmupSettings): LocalDate {
  const date = parseLocalDate(w.startedOn);
  if (!date) throw new RangeError(`Invalid warmup.startedOn '${String(w.startedOn)}': must be YYYY-MM-DD`);
  return date;
}

/** Warm-up day of a local date: 0 on startedOn and on any earlier date. */
export function warmupDayOfDate(w: WarmupSettings, date: LocalDate): number {
  return Math.max(0, daysBetween(startDate(w), date));
}

/** Local calendar days since warmup.startedOn (>= 0); null without warm-up. */
export function warmupDay(settings: MailboxPolicySettings, nowMs: number): number | null {
  if (!settings.warmup) return null;
  return warmupDayOfDate(settings.warmup, localDateTime(nowMs, settings.timezone));
}

/** The cap of a local date and which rule sets it ('warmup_cap' when the ramp is below dailyMax). */
export function capOfDate(
  settings: MailboxPolicySettings,
  date: LocalDate,
): { cap: number; reason: Extract<BlockReason, 'warmup_cap' | 'daily_cap'> } {
  const dailyMax = Math.max(0, Math.floor(settings.limits.dailyMax));
  if (!settings.warmup) return { cap: dailyMax, reason: 'daily_cap' };
  const ramp = warmupCap(settings.warmup, warmupDayOfDate(settings.warmup, date));
  return ramp < dailyMax ? { cap: ramp, reason: 'warmup_cap' } : { cap: dailyMax, reason: 'daily_cap' };
}

/** min(limits.dailyMax, warmupCap(warm-up day)) for the local day of nowMs; dailyMax alone without warm-up. */
export function dailyCap(settings: MailboxPolicySettings, nowMs: number): number {
  return capOfDate(settings, localDateTime(nowMs, settings.timezone)).cap;
}
