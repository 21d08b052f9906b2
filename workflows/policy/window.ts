/**
 * The sending window: weekdays and a start..end local clock range, read in
 * the mailbox's time zone. A window never runs over midnight (start < end).
 */
import { DAY_MS, firstOffsetChange, localDateTime, offsetAt, offsetOf, wallAsUtc, type LocalDateTime } from './time-zone';
import { WEEKDAYS, type SendingWindow } from './types';

/** A window with its clock times in minutes of the day and its days by index (0 = Monday). */
export interface CompiledWindow {
  days: boolean[];
  start: number;
  end: number;
}

const CLOCK_RE = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** 'HH:MM' to minutes of the day; '24:00' only when allowed (window ends). */
export function parseClock(text: string, allowEndOfDay = false): number | null {
  if (allowEndOfDay && text === '24:00') return 24 * 60;
  const m = typeof text === 'string' ? CLOCK_RE.exec(text) : null;
  return m ? Number(m[1]) * 60 + Number(m[2]) : null;
}

/** Field-named problems with a window; empty when valid. */
export function windowErrors(window: SendingWindow, path = 'window'): string[] {
  const errors: string[] = [];
  if (!Array.isArray(window.days)) {
    errors.push(`${path}.days: must be an array of weekdays`);
  } else {
    window.days.forEach((d, i) => {
      if (!WEEKDAYS.includes(d)) errors.push(`${path}.days[${i}]: must be one of ${WEEKDAYS.join(', ')}`);
    });
  }
  const start = parseClock(window.start);
  const end = parseClock(window.end, true);
  if (start === null) errors.push(`${path}.start: must be HH:MM (00:00 to 23:59)`);
  if (end === null) errors.push(`${path}.end: must be HH:MM (00:01 to 24:00)`);
  if (start !== null && end !== null && end <= start) {
    errors.push(`${path}.end: must be later than ${path}.start (windows over midnight are not supported)`);
  }
  return errors;
}

/** Throws a RangeError naming the field when the window is invalid. */
export function compileWindow(window: SendingWindow): CompiledWindow {
  const errors = windowErrors(window);
  if (errors.length > 0) throw new RangeError(`Invalid sending window: ${errors.join('; ')}`);
  const days = WEEKDAYS.map((d) => window.days.includes(d));
  return { days, start: parseClock(window.start) as number, end: parseClock(window.end, true) as number };
}

/** Window test on already computed local parts. */
export function insideCompiled(w: CompiledWindow, local: LocalDateTime): boolean {
  const minute = local.hour * 60 + local.minute;
  return w.days[local.weekday] && minute >= w.start && minute < w.end;
}

export function isInsideWindow(window: SendingWindow, timezone: string, ms: number): boolean {
  return insideCompiled(compileWindow(window), localDateTime(ms, timezone));
}

/** How far nextWindowOpening looks ahead before it gives up. */
export const WINDOW_LOOKAHEAD_MS = 15 * DAY_MS;

/**
 * The first instant >= nowMs inside the window (nowMs itself when inside);
 * null when the window has no day in the next 15 days (no days at all).
 *
 * Walks forward from one candidate to the next: today's opening time if it
 * is still ahead, else the next local midnight. A step assumes the current
 * offset; when the offset changes on the way, the walk stops at the change
 * and re-reads the local time there. That finds openings created by the
 * clocks jumping (a window starting inside the spring-forward gap opens at
 * the jump; one the fall-back hour re-enters opens again at the change).
 */
export function nextOpeningCompiled(w: CompiledWindow, timezone: string, nowMs: number): number | null {
  if (!w.days.some(Boolean)) return null;
  const limit = nowMs + WINDOW_LOOKAHEAD_MS;
  let t = nowMs;
  for (let step = 0; step < 200 && t <= limit; step++) {
    const local = localDateTime(t, timezone);
    if (insideCompiled(w, local)) return t;
    const minute = local.hour * 60 + local.minute;
    const targetWall =
      w.days[local.weekday] && minute < w.start
        ? wallAsUtc(local.year, local.month, local.day, w.start)
        : wallAsUtc(local.year, local.month, local.day + 1, 0);
    const offset = offsetOf(local, t);
    const candidate = targetWall - offset;
    t = offsetAt(candidate, timezone) === offset ? candidate : firstOffsetChange(t, candidate, timezone);
  }
  return null;
}

export function nextWindowOpening(window: SendingWindow, timezone: string, nowMs: number): number | null {
  return nextOpeningCompiled(compileWindow(window), timezone, nowMs);
}
