import {
  daysBetween,
  formatLocalDate,
  localDateTime,
  localDayBounds,
  localTimeCandidates,
  localTimeToEpoch,
  nextDate,
  offsetAt,
  parseLocalDate,
  validateTimezone,
  weekdayOf,
} from '../../../workflows/policy/time-zone';

const utc = (iso: string) => Date.parse(iso);
const NY = 'America/New_York';
const BERLIN = 'Europe/Berlin';
const LORD_HOWE = 'Australia/Lord_Howe'; // 30-minute DST shift

describe('localDateTime', () => {
  it('reads the wall clock and weekday in the zone', () => {
    expect(localDateTime(utc('2026-03-08T06:59:59Z'), NY)).toEqual({
      year: 2026, month: 3, day: 8, hour: 1, minute: 59, second: 59, weekday: 6,
    });
    expect(localDateTime(utc('2026-03-08T07:00:00Z'), NY)).toMatchObject({ hour: 3, minute: 0 });
    expect(localDateTime(utc('2026-01-01T00:30:00Z'), 'Asia/Kolkata')).toMatchObject({ day: 1, hour: 6, minute: 0, weekday: 3 });
    expect(localDateTime(utc('2026-03-01T11:00:00Z'), 'Pacific/Auckland')).toMatchObject({ month: 3, day: 2, hour: 0 });
  });

  it('reports midnight as hour 0, never 24', () => {
    expect(localDateTime(utc('2026-06-01T00:00:00Z'), 'UTC')).toMatchObject({ day: 1, hour: 0, minute: 0 });
  });

  it('agrees with Intl on weekday for a year of days', () => {
    const f = new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', weekday: 'short' });
    const names = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
    for (let d = 0; d < 366; d++) {
      const ms = utc('2026-01-01T12:00:00Z') + d * 86_400_000;
      expect(names[localDateTime(ms, 'UTC').weekday]).toBe(f.format(ms));
    }
  });
});

describe('offsetAt', () => {
  it('is local minus UTC on both sides of a change', () => {
    expect(offsetAt(utc('2026-03-08T06:59:59Z'), NY)).toBe(-5 * 3_600_000);
    expect(offsetAt(utc('2026-03-08T07:00:00Z'), NY)).toBe(-4 * 3_600_000);
    expect(offsetAt(utc('2026-01-15T00:00:00Z'), 'Asia/Kolkata')).toBe(5.5 * 3_600_000);
    expect(offsetAt(utc('2026-10-03T15:30:00Z'), LORD_HOWE)).toBe(11 * 3_600_000);
    expect(offsetAt(utc('2026-10-03T15:29:59Z'), LORD_HOWE)).toBe(10.5 * 3_600_000);
  });

  it('ignores the milliseconds of the instant', () => {
    expect(offsetAt(utc('2026-03-08T06:59:59.999Z'), NY)).toBe(-5 * 3_600_000);
  });
});

describe('localTimeToEpoch', () => {
  it('converts ordinary local times', () => {
    expect(localTimeToEpoch(NY, { year: 2026, month: 3, day: 9 }, 9 * 60)).toBe(utc('2026-03-09T13:00:00Z'));
    expect(localTimeToEpoch(NY, { year: 2026, month: 3, day: 6 }, 9 * 60)).toBe(utc('2026-03-06T14:00:00Z'));
    expect(localTimeToEpoch('Asia/Kolkata', { year: 2026, month: 4, day: 1 }, 0)).toBe(utc('2026-03-31T18:30:00Z'));
  });

  it('maps a time in the spring-forward gap to the instant the clocks jump', () => {
    // 02:30 does not exist in New York on 2026-03-08: 01:59:59 EST is followed by 03:00 EDT.
    expect(localTimeToEpoch(NY, { year: 2026, month: 3, day: 8 }, 2 * 60 + 30)).toBe(utc('2026-03-08T07:00:00Z'));
    expect(localTimeToEpoch(NY, { year: 2026, month: 3, day: 8 }, 2 * 60)).toBe(utc('2026-03-08T07:00:00Z'));
    expect(localTimeToEpoch(BERLIN, { year: 2026, month: 3, day: 29 }, 2 * 60 + 30)).toBe(utc('2026-03-29T01:00:00Z'));
    // Lord Howe jumps 02:00 -> 02:30.
    expect(localTimeToEpoch(LORD_HOWE, { year: 2026, month: 10, day: 4 }, 2 * 60 + 15)).toBe(utc('2026-10-03T15:30:00Z'));
    expect(localTimeToEpoch(LORD_HOWE, { year: 2026, month: 10, day: 4 }, 2 * 60 + 30)).toBe(utc('2026-10-03T15:30:00Z'));
  });

  it('takes the first occurrence of a time repeated at fall-back', () => {
    const date = { year: 2026, month: 11, day: 1 };
    expect(localTimeCandidates(NY, date, 90)).toEqual([utc('2026-11-01T05:30:00Z'), utc('2026-11-01T06:30:00Z')]);
    expect(localTimeToEpoch(NY, date, 90)).toBe(utc('2026-11-01T05:30:00Z'));
    expect(localTimeToEpoch(BERLIN, { year: 2026, month: 10, day: 25 }, 2 * 60 + 30)).toBe(utc('2026-10-25T00:30:00Z'));
    expect(localTimeToEpoch(LORD_HOWE, { year: 2026, month: 4, day: 5 }, 60 + 45)).toBe(utc('2026-04-04T14:45:00Z'));
  });

  it('round-trips every quarter hour of DST days through localDateTime', () => {
    for (const [tz, date] of [
      [NY, { year: 2026, month: 3, day: 8 }],
      [NY, { year: 2026, month: 11, day: 1 }],
      [BERLIN, { year: 2026, month: 3, day: 29 }],
      ['Australia/Sydney', { year: 2026, month: 4, day: 5 }],
      ['Pacific/Auckland', { year: 2026, month: 9, day: 27 }],
    ] as const) {
      for (let minute = 0; minute < 1440; minute += 15) {
        const ms = localTimeToEpoch(tz, date, minute);
        const back = localDateTime(ms, tz);
        const backMinute = back.hour * 60 + back.minute;
        // Either exact, or (in a gap) the first existing time after it.
        expect(back.day).toBe(date.day);
        expect(backMinute).toBeGreaterThanOrEqual(minute);
        if (backMinute !== minute) expect(localDateTime(ms - 1000, tz).hour * 60 + localDateTime(ms - 1000, tz).minute).toBeLessThan(minute);
      }
    }
  });
});

describe('localDayBounds', () => {
  it('has 23 hours on spring-forward day and 25 on fall-back day', () => {
    const spring = localDayBounds(utc('2026-03-08T15:00:00Z'), NY);
    expect(spring.start).toBe(utc('2026-03-08T05:00:00Z'));
    expect(spring.end).toBe(utc('2026-03-09T04:00:00Z'));
    const fall = localDayBounds(utc('2026-11-01T15:00:00Z'), NY);
    expect(fall.end - fall.start).toBe(25 * 3_600_000);
    const berlin = localDayBounds(utc('2026-03-29T12:00:00Z'), BERLIN);
    expect(berlin.end - berlin.start).toBe(23 * 3_600_000);
  });

  it('puts the local midnight in the new day, one ms before in the old', () => {
    const midnight = utc('2026-03-02T05:00:00Z'); // 00:00 EST
    expect(localDayBounds(midnight, NY).start).toBe(midnight);
    expect(localDayBounds(midnight - 1, NY).end).toBe(midnight);
  });
});

describe('calendar helpers', () => {
  it('parses only real YYYY-MM-DD dates', () => {
    expect(parseLocalDate('2026-02-28')).toEqual({ year: 2026, month: 2, day: 28 });
    expect(parseLocalDate('2028-02-29')).toEqual({ year: 2028, month: 2, day: 29 });
    for (const bad of ['2026-02-29', '2026-13-01', '2026-1-01', '26-01-01', '2026-01-01T00:00', '']) {
      expect(parseLocalDate(bad)).toBeNull();
    }
  });

  it('steps and counts dates across month and year ends', () => {
    expect(nextDate({ year: 2026, month: 12, day: 31 })).toEqual({ year: 2027, month: 1, day: 1 });
    expect(nextDate({ year: 2028, month: 2, day: 28 })).toEqual({ year: 2028, month: 2, day: 29 });
    expect(daysBetween({ year: 2026, month: 3, day: 1 }, { year: 2026, month: 4, day: 1 })).toBe(31);
    expect(daysBetween({ year: 2026, month: 3, day: 2 }, { year: 2026, month: 3, day: 1 })).toBe(-1);
    expect(formatLocalDate({ year: 2026, month: 3, day: 1 })).toBe('2026-03-01');
    expect(weekdayOf({ year: 2026, month: 3, day: 8 })).toBe(6); // a Sunday
  });

  it('accepts the zones Intl knows and rejects others', () => {
    for (const tz of ['UTC', NY, BERLIN, 'Asia/Kolkata', 'Pacific/Auckland', LORD_HOWE]) expect(validateTimezone(tz)).toBe(true);
    for (const tz of ['', 'Mars/Olympus', 'America/NewYork', 'GMT+25']) expect(validateTimezone(tz)).toBe(false);
  });
});
