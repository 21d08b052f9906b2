/**
 * Local calendar arithmetic in an IANA time zone, on top of Intl.DateTimeFormat
 * only (no Date.now, no libraries): safe in Temporal's workflow sandbox.
 *
 * Conventions, used everywhere in the policy:
 * - An "offset" is local wall time minus UTC, in ms (New York in winter: -5 h).
 * - A local time that does not exist (the spring-forward gap, e.g. 02:30 in
 *   New York on 2026-03-08) maps forward to the instant the clocks jump
 *   (03:00 EDT): the first instant whose local time is later than the one
 *   asked for. This is what a window or a day "opens" at. (java.time and
 *   Temporal's 'compatible' would shift by the gap length, to 03:30.)
 * - A local time that occurs twice (the fall-back overlap) takes the first
 *   occurrence.
 * Assumes at most one offset change within any 24 hours, true of every zone
 * in the tz database since 1970.
 */

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

export interface LocalDate {
  year: number;
  /** 1..12 */
  month: number;
  /** 1..31 */
  day: number;
}

export interface LocalDateTime extends LocalDate {
  hour: number;
  minute: number;
  second: number;
  /** 0 = Monday .. 6 = Sunday */
  weekday: number;
}

interface ZoneFormatter {
  format: Intl.DateTimeFormat;
  /** format() text reads "M/D/YYYY, HH:MM:SS" (checked once per zone against formatToParts). */
  fast: boolean;
}

const formatters = new Map<string, ZoneFormatter>();
const FIELD_ORDER = ['year', 'month', 'day', 'hour', 'minute', 'second'];
const PROBE_MS = Date.UTC(2001, 10, 22, 13, 44, 55); // every field distinct

function formatterFor(timezone: string): ZoneFormatter {
  let f = formatters.get(timezone);
  if (!f) {
    const format = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    const probe = { format, fast: false };
    const slow = structuredFields(probe, PROBE_MS);
    const quick = textFields(format.format(PROBE_MS));
    f = { format, fast: quick !== null && quick.every((v, i) => v === slow[i]) };
    formatters.set(timezone, f);
  }
  return f;
}

/** True when Intl knows the zone (IANA names, 'UTC', 'Etc/GMT+5', ...). */
export function validateTimezone(tz: string): boolean {
  if (typeof tz !== 'string' || tz.length === 0) return false;
  try {
    formatterFor(tz);
    return true;
  } catch {
    return false;
  }
}

/** Fields from en-US numeric text "M/D/YYYY, HH:MM:SS"; null when the shape differs. */
function textFields(text: string): number[] | null {
  const numbers: number[] = [];
  let value = -1;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) - 48 : -1;
    if (c >= 0 && c <= 9) {
      value = value < 0 ? c : value * 10 + c;
    } else if (value >= 0) {
      numbers.push(value);
      value = -1;
    }
  }
  if (numbers.length !== 6) return null;
  const [month, day, year, hour, minute, second] = numbers;
  return [year, month, day, hour % 24, minute, second];
}

function structuredFields(f: ZoneFormatter, ms: number): number[] {
  const out = [0, 0, 0, 0, 0, 0];
  for (const part of f.format.formatToParts(ms)) {
    const idx = FIELD_ORDER.indexOf(part.type);
    if (idx >= 0) out[idx] = Number(part.value);
  }
  out[3] %= 24;
  return out;
}

/** [year, month, day, hour, minute, second] of an instant in the zone. */
function wallFields(ms: number, timezone: string): number[] {
  const f = formatterFor(timezone);
  // format() plus a digit scan is ~3x faster than formatToParts().
  return (f.fast && textFields(f.format.format(ms))) || structuredFields(f, ms);
}

/** Epoch ms of a wall time read as if it were UTC. Day overflow rolls over (day 32 = next month). */
export function wallAsUtc(year: number, month: number, day: number, minuteOfDay = 0): number {
  return Date.UTC(year, month - 1, day, 0, minuteOfDay);
}

/** 0 = Monday .. 6 = Sunday, of a calendar date. */
export function weekdayOf(date: LocalDate): number {
  const days = Math.floor(wallAsUtc(date.year, date.month, date.day) / DAY_MS);
  return (((days + 3) % 7) + 7) % 7; // 1970-01-01 was a Thursday
}

export function localDateTime(ms: number, timezone: string): LocalDateTime {
  const [year, month, day, hour, minute, second] = wallFields(ms, timezone);
  return { year, month, day, hour, minute, second, weekday: weekdayOf({ year, month, day }) };
}

/** Local wall time minus UTC at this instant, in ms. */
export function offsetAt(ms: number, timezone: string): number {
  const [y, mo, d, h, mi, s] = wallFields(ms, timezone);
  return Date.UTC(y, mo - 1, d, h, mi, s) - Math.floor(ms / 1000) * 1000;
}

/** The offset at `ms`, from its already computed local parts (saves an Intl call). */
export function offsetOf(local: LocalDateTime, ms: number): number {
  return (
    Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute, local.second) -
    Math.floor(ms / 1000) * 1000
  );
}

/**
 * The first instant in (from, to] whose offset differs from the offset at
 * `from`; `to` must have a different offset. Transitions fall on whole seconds.
 */
export function firstOffsetChange(from: number, to: number, timezone: string): number {
  const base = offsetAt(from, timezone);
  let lo = Math.floor(from / 1000); // second with the old offset
  let hi = Math.floor(to / 1000); // second with a new offset
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (offsetAt(mid * 1000, timezone) === base) lo = mid;
    else hi = mid;
  }
  return hi * 1000;
}

/**
 * Every instant showing this local wall time, earliest first: two in a
 * fall-back overlap, one normally, and in a spring-forward gap the single
 * instant the clocks jump (see the module comment).
 */
export function localTimeCandidates(timezone: string, date: LocalDate, minuteOfDay: number): number[] {
  const wall = wallAsUtc(date.year, date.month, date.day, minuteOfDay);
  const before = offsetAt(wall - DAY_MS, timezone);
  const after = offsetAt(wall + DAY_MS, timezone);
  const found: number[] = [];
  for (const offset of before === after ? [before] : [before, after]) {
    const candidate = wall - offset;
    if (offsetAt(candidate, timezone) === offset) found.push(candidate);
  }
  if (found.length > 0) return found.sort((a, b) => a - b);
  // Gap: wall - after still has the old offset, wall - before already the new one.
  return [firstOffsetChange(wall - after, wall - before, timezone)];
}

/** The instant of a local date and time (first occurrence; gaps map forward). */
export function localTimeToEpoch(timezone: string, date: LocalDate, minuteOfDay: number): number {
  return localTimeCandidates(timezone, date, minuteOfDay)[0];
}

const midnights = new Map<string, number>();

/** First instant of a local calendar date (cached: it is asked for on every slot check). */
export function localMidnight(timezone: string, date: LocalDate): number {
  const key = `${timezone}|${date.year}-${date.month}-${date.day}`;
  let ms = midnights.get(key);
  if (ms === undefined) {
    ms = localTimeToEpoch(timezone, date, 0);
    if (midnights.size >= 4096) midnights.clear();
    midnights.set(key, ms);
  }
  return ms;
}

/** The date after a date (handles month and year ends). */
export function nextDate(date: LocalDate): LocalDate {
  return dateFromUtcMs(wallAsUtc(date.year, date.month, date.day + 1));
}

function dateFromUtcMs(utcMs: number): LocalDate {
  // Arithmetic on the civil calendar only (no Date object): days since 1970-01-01.
  const days = Math.floor(utcMs / DAY_MS);
  // Howard Hinnant's civil_from_days.
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return { year, month, day };
}

/** [start, end) of the local calendar day containing `ms`; 23 or 25 hours long on DST days. */
export function localDayBounds(ms: number, timezone: string): { start: number; end: number; date: LocalDate } {
  const t = localDateTime(ms, timezone);
  const date: LocalDate = { year: t.year, month: t.month, day: t.day };
  return { start: localMidnight(timezone, date), end: localMidnight(timezone, nextDate(date)), date };
}

/** Whole calendar days from `from` to `to` (negative when `to` is earlier). */
export function daysBetween(from: LocalDate, to: LocalDate): number {
  return Math.round((wallAsUtc(to.year, to.month, to.day) - wallAsUtc(from.year, from.month, from.day)) / DAY_MS);
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Parses 'YYYY-MM-DD'; null unless it names a real calendar date. */
export function parseLocalDate(text: string): LocalDate | null {
  const m = typeof text === 'string' ? DATE_RE.exec(text) : null;
  if (!m) return null;
  const date = { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
  const roundTrip = dateFromUtcMs(wallAsUtc(date.year, date.month, date.day));
  if (roundTrip.year !== date.year || roundTrip.month !== date.month || roundTrip.day !== date.day) return null;
  return date;
}

export function formatLocalDate(date: LocalDate): string {
  const pad = (n: number, w: number) => String(n).padStart(w, '0');
  return `${pad(date.year, 4)}-${pad(date.month, 2)}-${pad(date.day, 2)}`;
}
