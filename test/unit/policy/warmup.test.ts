import { DEFAULT_LIMITS, DEFAULT_WARMUP_RAMP, DEFAULT_WINDOW } from '../../../workflows/policy/defaults';
import { countSentThisHour, countSentToday, pruneGrants } from '../../../workflows/policy/grants';
import { initialPolicyState } from '../../../workflows/policy/state';
import { dailyCap, warmupCap, warmupDay } from '../../../workflows/policy/warmup';
import type { MailboxPolicySettings, PolicyState } from '../../../workflows/policy/types';

const utc = (iso: string) => Date.parse(iso);
const HOUR = 3_600_000;

function settingsIn(timezone: string, startedOn: string | null, dailyMax = 50): MailboxPolicySettings {
  return {
    timezone,
    window: DEFAULT_WINDOW,
    limits: { ...DEFAULT_LIMITS, dailyMax },
    warmup: startedOn === null ? null : { ...DEFAULT_WARMUP_RAMP, startedOn },
  };
}

function withGrants(grants: number[]): PolicyState {
  return { ...initialPolicyState(), grants };
}

describe('warmupCap', () => {
  it('is min(maxPerDay, startPerDay + increasePerDay * day)', () => {
    const ramp = DEFAULT_WARMUP_RAMP; // 5, +3, max 50
    expect([0, 1, 2, 3, 10, 14, 15, 16, 100].map((d) => warmupCap(ramp, d))).toEqual([5, 8, 11, 14, 35, 47, 50, 50, 50]);
    expect(warmupCap({ startPerDay: 2, increasePerDay: 0, maxPerDay: 40 }, 30)).toBe(2);
    expect(warmupCap({ startPerDay: 10, increasePerDay: 10, maxPerDay: 25 }, 1)).toBe(20);
    expect(warmupCap({ startPerDay: 10, increasePerDay: 10, maxPerDay: 25 }, 2)).toBe(25);
  });

  it('treats days before the start as day 0 and rounds fractional ramps down', () => {
    expect(warmupCap(DEFAULT_WARMUP_RAMP, -3)).toBe(5);
    expect(warmupCap({ startPerDay: 5, increasePerDay: 2.5, maxPerDay: 50 }, 1)).toBe(7);
  });
});

describe('warmupDay', () => {
  it('is null without warm-up', () => {
    expect(warmupDay(settingsIn('UTC', null), utc('2026-03-05T12:00:00Z'))).toBeNull();
  });

  it('counts local calendar days in the mailbox zone, not UTC days', () => {
    // 2026-03-01T11:00Z is 2026-03-02 00:00 in Auckland (UTC+13) but still March 1st in UTC.
    const instant = utc('2026-03-01T11:00:00Z');
    expect(warmupDay(settingsIn('Pacific/Auckland', '2026-03-01'), instant)).toBe(1);
    expect(warmupDay(settingsIn('UTC', '2026-03-01'), instant)).toBe(0);
    expect(warmupDay(settingsIn('Pacific/Auckland', '2026-03-01'), instant - 1)).toBe(0);
    // 2026-02-28T11:00Z is March 1st 00:00 in Auckland: day 0 there, before the start in UTC (clamped to 0).
    expect(warmupDay(settingsIn('Pacific/Auckland', '2026-03-01'), utc('2026-02-28T11:00:00Z'))).toBe(0);
    // New York 2026-03-10 23:30 EDT is already the 11th in UTC.
    expect(warmupDay(settingsIn('America/New_York', '2026-03-01'), utc('2026-03-11T03:30:00Z'))).toBe(9);
    expect(warmupDay(settingsIn('UTC', '2026-03-01'), utc('2026-03-11T03:30:00Z'))).toBe(10);
  });

  it('advances by one per local day across a DST change (23-hour day)', () => {
    const s = settingsIn('America/New_York', '2026-03-07');
    expect(warmupDay(s, utc('2026-03-08T04:59:59Z'))).toBe(0); // Mar 7 23:59:59 EST
    expect(warmupDay(s, utc('2026-03-08T05:00:00Z'))).toBe(1); // Mar 8 00:00 EST
    expect(warmupDay(s, utc('2026-03-09T03:59:59Z'))).toBe(1); // Mar 8 23:59:59 EDT
    expect(warmupDay(s, utc('2026-03-09T04:00:00Z'))).toBe(2); // Mar 9 00:00 EDT
  });

  it('throws on an invalid start date', () => {
    expect(() => warmupDay(settingsIn('UTC', '2026-02-30'), utc('2026-03-01T00:00:00Z'))).toThrow(RangeError);
  });
});

describe('dailyCap', () => {
  it('is the smaller of dailyMax and the warm-up cap of the local day', () => {
    const s = settingsIn('UTC', '2026-03-01', 20);
    expect(dailyCap(s, utc('2026-03-01T12:00:00Z'))).toBe(5);
    expect(dailyCap(s, utc('2026-03-05T12:00:00Z'))).toBe(17);
    expect(dailyCap(s, utc('2026-03-06T12:00:00Z'))).toBe(20); // ramp 20
    expect(dailyCap(s, utc('2026-03-30T12:00:00Z'))).toBe(20); // ramp 50, dailyMax 20
  });

  it('is dailyMax alone when fully warmed', () => {
    expect(dailyCap(settingsIn('UTC', null, 37), utc('2026-03-01T12:00:00Z'))).toBe(37);
  });
});

describe('countSentToday', () => {
  it('counts the grants of the local calendar day, future reservations included', () => {
    const s = settingsIn('America/New_York', null);
    const state = withGrants([
      utc('2026-03-04T04:59:59Z'), // Mar 3 23:59:59 EST
      utc('2026-03-04T05:00:00Z'), // Mar 4 00:00 EST
      utc('2026-03-04T15:00:00Z'),
      utc('2026-03-05T04:59:59Z'), // Mar 4 23:59:59 EST
      utc('2026-03-05T05:00:00Z'), // Mar 5
    ]);
    expect(countSentToday(s, state, utc('2026-03-04T12:00:00Z'))).toBe(3);
    expect(countSentToday(s, state, utc('2026-03-04T03:00:00Z'))).toBe(1);
    expect(countSentToday(settingsIn('UTC', null), state, utc('2026-03-04T12:00:00Z'))).toBe(3);
  });

  it('spans 25 hours on the fall-back day', () => {
    const s = settingsIn('America/New_York', null);
    const state = withGrants([utc('2026-11-01T04:00:00Z'), utc('2026-11-02T04:59:59Z'), utc('2026-11-02T05:00:00Z')]);
    expect(countSentToday(s, state, utc('2026-11-01T12:00:00Z'))).toBe(2);
  });
});

describe('countSentThisHour', () => {
  it('counts grants in (now - 1 h, now]', () => {
    const now = utc('2026-03-04T12:00:00Z');
    const state = withGrants([now - HOUR, now - HOUR + 1, now - 1, now, now + 1]);
    expect(countSentThisHour(state, now)).toBe(3);
    expect(countSentThisHour(state, now + HOUR)).toBe(1);
  });
});

describe('pruneGrants', () => {
  it('keeps the local day, the last hour and the future; drops the rest', () => {
    const s = settingsIn('UTC', null);
    const now = utc('2026-03-04T00:30:00Z');
    const state = withGrants([utc('2026-03-03T10:00:00Z'), utc('2026-03-03T23:40:00Z'), utc('2026-03-04T00:10:00Z'), now + HOUR]);
    expect(pruneGrants(s, state, now).grants).toEqual([utc('2026-03-03T23:40:00Z'), utc('2026-03-04T00:10:00Z'), now + HOUR]);
    expect(state.grants).toHaveLength(4);
  });

  it('keeps a minimum interval longer than an hour', () => {
    const s = { ...settingsIn('UTC', null), limits: { ...DEFAULT_LIMITS, minIntervalSeconds: 3 * 3600 } };
    const now = utc('2026-03-04T01:00:00Z');
    const state = withGrants([utc('2026-03-03T21:00:00Z'), utc('2026-03-03T22:30:00Z')]);
    expect(pruneGrants(s, state, now).grants).toEqual([utc('2026-03-03T22:30:00Z')]);
  });
});
