/**
 * Whether two sending windows, each read in its own time zone, ever share an
 * instant (e.g. a campaign's window and a mailbox's), and the first one.
 *
 * Works on open intervals, not minutes: each window yields at most two
 * intervals per local day (two on a fall-back day, when the clock re-enters
 * the window), computed per stretch of constant UTC offset, and the two
 * ascending interval lists are merged. Cost: a few Intl calls per window day
 * of the span, and the search stops at the first common instant.
 */
import { DAY_MS, HOUR_MS, firstOffsetChange, localDateTime, localMidnight, nextDate, offsetAt, wallAsUtc, weekdayOf, type LocalDate } from './time-zone';
import { compileWindow, type CompiledWindow } from './window';
import type { WindowConstraint } from './types';

/**
 * How far windowsCanOverlap looks: 53 weeks, so every weekday meets every
 * pair of UTC offsets the two zones take over a year (DST changes that fall
 * on different dates in the two zones shift the windows against each other
 * for a few weeks, which a two-week span from the wrong date would miss).
 */
export const OVERLAP_SPAN_MS = 371 * DAY_MS;

/** No zone is further than this from UTC (Kiribati +14 h, Baker Island -12 h). */
const MAX_OFFSET_MS = 15 * HOUR_MS;

/** [start, end, offset] stretches of one constant offset covering [from, to); at most two (one change a day). */
function constantOffsetStretches(from: number, to: number, timezone: string): [number, number, number][] {
  const first = offsetAt(from, timezone);
  const last = offsetAt(to - 1, timezone);
  if (first === last) return [[from, to, first]];
  const change = firstOffsetChange(from, to - 1, timezone);
  return [
    [from, change, first],
    [change, to, offsetAt(change, timezone)],
  ];
}

/**
 * The window's open intervals [start, end) within [fromMs, untilMs),
 * ascending and disjoint (adjacent ones are not merged). An instant is
 * inside an interval exactly when isInsideWindow says it is inside.
 */
export function* openIntervals(w: CompiledWindow, timezone: string, fromMs: number, untilMs: number): Generator<[number, number]> {
  if (!w.days.some(Boolean) || fromMs >= untilMs) return;
  const local = localDateTime(fromMs, timezone);
  let date: LocalDate = { year: local.year, month: local.month, day: local.day };
  // A date's midnight is at least its wall time minus the largest offset: past that, every later day starts after untilMs.
  while (wallAsUtc(date.year, date.month, date.day) - MAX_OFFSET_MS < untilMs) {
    const next = nextDate(date);
    if (w.days[weekdayOf(date)]) {
      const dayStart = localMidnight(timezone, date);
      if (dayStart >= untilMs) return;
      const dayEnd = localMidnight(timezone, next);
      const open = wallAsUtc(date.year, date.month, date.day, w.start);
      const close = wallAsUtc(date.year, date.month, date.day, w.end);
      for (const [s0, e0, offset] of constantOffsetStretches(dayStart, dayEnd, timezone)) {
        // Within one offset the local clock is t + offset: the window is [open - offset, close - offset).
        const s = Math.max(s0, open - offset, fromMs);
        const e = Math.min(e0, close - offset, untilMs);
        if (s < e) yield [s, e];
      }
    }
    date = next;
  }
}

/**
 * The first instant in [fromMs, fromMs + spanMs) inside both windows, each
 * read in its own zone (DST included); null when there is none.
 * Throws a RangeError on an invalid window (see windowErrors).
 */
export function firstCommonInstant(
  a: WindowConstraint,
  b: WindowConstraint,
  fromMs: number,
  spanMs: number = OVERLAP_SPAN_MS,
): number | null {
  const until = fromMs + spanMs;
  const ia = openIntervals(compileWindow(a.window), a.timezone, fromMs, until);
  const ib = openIntervals(compileWindow(b.window), b.timezone, fromMs, until);
  let x = ia.next();
  let y = ib.next();
  while (!x.done && !y.done) {
    const [as, ae] = x.value;
    const [bs, be] = y.value;
    const s = Math.max(as, bs);
    if (s < Math.min(ae, be)) return s;
    if (ae <= be) x = ia.next();
    else y = ib.next();
  }
  return null;
}

/**
 * Whether the two windows share any instant in the span from fromMs
 * (default 53 weeks: every weekday under every pair of offsets the zones
 * take). False means a slot search constrained by both can never succeed.
 */
export function windowsCanOverlap(a: WindowConstraint, b: WindowConstraint, fromMs: number, spanMs: number = OVERLAP_SPAN_MS): boolean {
  return firstCommonInstant(a, b, fromMs, spanMs) !== null;
}
