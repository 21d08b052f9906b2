/**
 * An independent reading of the policy rules, for tests: it shares no code
 * with workflows/policy. Local time comes from Intl.formatToParts (the policy
 * parses format()), weekdays from Intl (the policy computes them), days are
 * compared as date strings, and the hourly rule is counted over literal
 * 60-minute windows (the policy checks spans of consecutive grants).
 */
import type { MailboxPolicySettings, Weekday } from '../../../workflows/policy/types';

export const HOUR = 3_600_000;
export const DAY = 86_400_000;

const formats = new Map<string, Intl.DateTimeFormat>();

export interface OracleLocal {
  date: string; // YYYY-MM-DD
  weekday: Weekday;
  minute: number; // minute of the day
}

export function oracleLocal(ms: number, tz: string): OracleLocal {
  let f = formats.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formats.set(tz, f);
  }
  const parts: Record<string, string> = {};
  for (const p of f.formatToParts(ms)) parts[p.type] = p.value;
  return {
    date: `${parts.year}-${parts.month}-${parts.day}`,
    weekday: parts.weekday.toLowerCase().slice(0, 3) as Weekday,
    minute: (Number(parts.hour) % 24) * 60 + Number(parts.minute),
  };
}

function clockMinutes(text: string): number {
  const [h, m] = text.split(':').map(Number);
  return h * 60 + m;
}

export function oracleInWindow(settings: MailboxPolicySettings, ms: number): boolean {
  const l = oracleLocal(ms, settings.timezone);
  const { days, start, end } = settings.window;
  return days.includes(l.weekday) && l.minute >= clockMinutes(start) && l.minute < clockMinutes(end);
}

/** The cap formula for a local date string, written out from the spec. */
export function oracleCap(settings: MailboxPolicySettings, date: string): number {
  if (!settings.warmup) return settings.limits.dailyMax;
  const w = settings.warmup;
  const day = Math.max(0, Math.round((Date.parse(`${date}T00:00:00Z`) - Date.parse(`${w.startedOn}T00:00:00Z`)) / DAY));
  return Math.min(settings.limits.dailyMax, Math.floor(Math.min(w.maxPerDay, w.startPerDay + w.increasePerDay * day)));
}

/** Literal 60-minute windows: the most grants any window [s, s + 1 h) holds. */
export function maxInAnyHour(sortedGrants: number[]): number {
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < sortedGrants.length; hi++) {
    while (sortedGrants[hi] - sortedGrants[lo] >= HOUR) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

export interface OracleState {
  grants: number[];
  grantDates: string[]; // local date of each grant, precomputed
  cooldownUntil: number | null;
  nextEarliestAt: number | null;
  paused: boolean;
}

export function oracleState(
  settings: MailboxPolicySettings,
  s: { grants: number[]; cooldownUntil: number | null; nextEarliestAt: number | null; paused: boolean },
): OracleState {
  const grants = [...s.grants].sort((a, b) => a - b);
  return { ...s, grants, grantDates: grants.map((g) => oracleLocal(g, settings.timezone).date) };
}

/** Would one more send at t be allowed? Every rule counted from scratch over all grants. */
export function oracleAllowed(settings: MailboxPolicySettings, s: OracleState, t: number): boolean {
  if (s.paused) return false;
  if (s.cooldownUntil !== null && t < s.cooldownUntil) return false;
  if (s.nextEarliestAt !== null && t < s.nextEarliestAt) return false;
  if (!oracleInWindow(settings, t)) return false;
  const interval = settings.limits.minIntervalSeconds * 1000;
  if (s.grants.some((g) => Math.abs(t - g) < interval)) return false;
  const date = oracleLocal(t, settings.timezone).date;
  if (s.grantDates.filter((d) => d === date).length >= oracleCap(settings, date)) return false;
  // Every 60-minute window containing t; the fullest ones start at t - 1 h + 1 or just after a grant leaves.
  const starts = [t - HOUR + 1, ...s.grants.map((g) => g - HOUR + 1)].filter((x) => x > t - HOUR && x <= t);
  for (const start of starts) {
    const inWindow = s.grants.filter((g) => g >= start && g < start + HOUR).length;
    if (inWindow + 1 > settings.limits.hourlyMax) return false;
  }
  return true;
}

/** A small seeded PRNG (mulberry32) for simulations driven by a fast-check seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
