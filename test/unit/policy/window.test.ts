import { DEFAULT_LIMITS, DEFAULT_WINDOW } from '../../../workflows/policy/defaults';
import { compileWindow, isInsideWindow, nextWindowOpening, parseClock, windowErrors } from '../../../workflows/policy/window';
import type { SendingWindow } from '../../../workflows/policy/types';
import { oracleInWindow } from './oracle';

const utc = (iso: string) => Date.parse(iso);
const NY = 'America/New_York';
const BERLIN = 'Europe/Berlin';
const WORKDAYS = DEFAULT_WINDOW;
const EVERY_DAY: SendingWindow['days'] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

describe('parseClock and window validation', () => {
  it('parses HH:MM and 24:00 only as an end', () => {
    expect(parseClock('09:30')).toBe(570);
    expect(parseClock('00:00')).toBe(0);
    expect(parseClock('23:59')).toBe(1439);
    expect(parseClock('24:00')).toBeNull();
    expect(parseClock('24:00', true)).toBe(1440);
    for (const bad of ['9:30', '09:60', '25:00', '0930', '', '09:30:00']) expect(parseClock(bad, true)).toBeNull();
  });

  it('names the field of each problem', () => {
    expect(windowErrors(WORKDAYS)).toEqual([]);
    expect(windowErrors({ days: ['mon', 'funday' as never], start: '9', end: '17:00' })).toEqual([
      'window.days[1]: must be one of mon, tue, wed, thu, fri, sat, sun',
      'window.start: must be HH:MM (00:00 to 23:59)',
    ]);
    expect(windowErrors({ days: ['mon'], start: '22:00', end: '06:00' })).toEqual([
      'window.end: must be later than window.start (windows over midnight are not supported)',
    ]);
    expect(() => compileWindow({ days: ['mon'], start: '10:00', end: '10:00' })).toThrow(RangeError);
  });
});

describe('isInsideWindow', () => {
  it('includes the start and excludes the end', () => {
    // 2026-03-04 is a Wednesday; New York is UTC-5.
    expect(isInsideWindow(WORKDAYS, NY, utc('2026-03-04T13:59:59Z'))).toBe(false);
    expect(isInsideWindow(WORKDAYS, NY, utc('2026-03-04T14:00:00Z'))).toBe(true);
    expect(isInsideWindow(WORKDAYS, NY, utc('2026-03-04T21:59:59Z'))).toBe(true);
    expect(isInsideWindow(WORKDAYS, NY, utc('2026-03-04T22:00:00Z'))).toBe(false);
  });

  it('is closed on weekends, read in local time', () => {
    // Friday 23:30 in New York is already Saturday in UTC: still Friday locally, but after 17:00.
    expect(isInsideWindow({ ...WORKDAYS, end: '24:00' }, NY, utc('2026-03-07T04:30:00Z'))).toBe(true);
    expect(isInsideWindow(WORKDAYS, NY, utc('2026-03-07T15:00:00Z'))).toBe(false); // Saturday 10:00
    expect(isInsideWindow(WORKDAYS, NY, utc('2026-03-08T15:00:00Z'))).toBe(false); // Sunday 11:00
    // Monday 09:30 in Auckland is Sunday 20:30 UTC.
    expect(isInsideWindow(WORKDAYS, 'Pacific/Auckland', utc('2026-03-01T20:30:00Z'))).toBe(true);
  });
});

describe('nextWindowOpening', () => {
  it('is now itself inside the window', () => {
    const now = utc('2026-03-04T15:12:34.567Z');
    expect(nextWindowOpening(WORKDAYS, NY, now)).toBe(now);
  });

  it('opens later today, or tomorrow after the end', () => {
    expect(nextWindowOpening(WORKDAYS, NY, utc('2026-03-04T06:00:00Z'))).toBe(utc('2026-03-04T14:00:00Z'));
    expect(nextWindowOpening(WORKDAYS, NY, utc('2026-03-04T22:00:00Z'))).toBe(utc('2026-03-05T14:00:00Z'));
  });

  it('skips the weekend from Friday evening to Monday morning', () => {
    expect(nextWindowOpening(WORKDAYS, 'UTC', utc('2026-03-06T17:00:00Z'))).toBe(utc('2026-03-09T09:00:00Z'));
    expect(nextWindowOpening(WORKDAYS, 'UTC', utc('2026-03-07T09:30:00Z'))).toBe(utc('2026-03-09T09:00:00Z'));
  });

  it('opens at 09:00 local on both sides of the New York spring change (2026-03-08)', () => {
    // Friday 09:00 EST = 14:00Z; Monday 09:00 EDT = 13:00Z.
    expect(nextWindowOpening(WORKDAYS, NY, utc('2026-03-06T05:00:00Z'))).toBe(utc('2026-03-06T14:00:00Z'));
    expect(nextWindowOpening(WORKDAYS, NY, utc('2026-03-06T22:00:00Z'))).toBe(utc('2026-03-09T13:00:00Z'));
    // A window open on Sundays opens at 09:00 EDT on the change day itself and closes at 17:00 EDT.
    const sunday: SendingWindow = { days: ['sun'], start: '09:00', end: '17:00' };
    expect(nextWindowOpening(sunday, NY, utc('2026-03-07T12:00:00Z'))).toBe(utc('2026-03-08T13:00:00Z'));
    expect(isInsideWindow(sunday, NY, utc('2026-03-08T20:59:59Z'))).toBe(true);
    expect(isInsideWindow(sunday, NY, utc('2026-03-08T21:00:00Z'))).toBe(false);
  });

  it('opens at 09:00 local on both sides of the New York autumn change (2026-11-01)', () => {
    expect(nextWindowOpening(WORKDAYS, NY, utc('2026-10-30T04:00:00Z'))).toBe(utc('2026-10-30T13:00:00Z'));
    expect(nextWindowOpening(WORKDAYS, NY, utc('2026-10-30T21:00:00Z'))).toBe(utc('2026-11-02T14:00:00Z'));
    const sunday: SendingWindow = { days: ['sun'], start: '09:00', end: '17:00' };
    expect(nextWindowOpening(sunday, NY, utc('2026-10-31T12:00:00Z'))).toBe(utc('2026-11-01T14:00:00Z'));
  });

  it('opens at 09:00 local on both sides of the Berlin spring change (2026-03-29)', () => {
    // Friday 09:00 CET = 08:00Z; Monday 09:00 CEST = 07:00Z.
    expect(nextWindowOpening(WORKDAYS, BERLIN, utc('2026-03-27T06:00:00Z'))).toBe(utc('2026-03-27T08:00:00Z'));
    expect(nextWindowOpening(WORKDAYS, BERLIN, utc('2026-03-27T16:00:00Z'))).toBe(utc('2026-03-30T07:00:00Z'));
  });

  it('opens at the jump when the start falls in the spring-forward gap', () => {
    const w: SendingWindow = { days: EVERY_DAY, start: '02:30', end: '04:00' };
    // 01:00 EST on 2026-03-08; local time goes 01:59:59 -> 03:00, which is inside 02:30-04:00.
    expect(nextWindowOpening(w, NY, utc('2026-03-08T06:00:00Z'))).toBe(utc('2026-03-08T07:00:00Z'));
  });

  it('skips a day whose whole window lies in the gap', () => {
    const w: SendingWindow = { days: EVERY_DAY, start: '02:00', end: '02:45' };
    expect(nextWindowOpening(w, NY, utc('2026-03-08T06:00:00Z'))).toBe(utc('2026-03-09T06:00:00Z'));
  });

  it('re-opens when the fall-back hour brings the clock back into the window', () => {
    // 00:00-01:30 on 2026-11-01: closes at 01:30 EDT, the clock falls back to 01:00 EST at 06:00Z.
    const w: SendingWindow = { days: EVERY_DAY, start: '00:00', end: '01:30' };
    expect(isInsideWindow(w, NY, utc('2026-11-01T05:30:00Z'))).toBe(false);
    expect(nextWindowOpening(w, NY, utc('2026-11-01T05:45:00Z'))).toBe(utc('2026-11-01T06:00:00Z'));
    // 01:15-01:30 opens at its first occurrence, then again at the second.
    const late: SendingWindow = { days: EVERY_DAY, start: '01:15', end: '01:30' };
    expect(nextWindowOpening(late, NY, utc('2026-11-01T04:00:00Z'))).toBe(utc('2026-11-01T05:15:00Z'));
    expect(nextWindowOpening(late, NY, utc('2026-11-01T05:40:00Z'))).toBe(utc('2026-11-01T06:15:00Z'));
  });

  it('handles half-hour zones and half-hour shifts', () => {
    expect(nextWindowOpening(WORKDAYS, 'Asia/Kolkata', utc('2026-03-04T00:00:00Z'))).toBe(utc('2026-03-04T03:30:00Z'));
    // Lord Howe, Sunday 2026-10-04: 02:00 jumps to 02:30; a 02:10 start opens at the jump (15:30Z).
    const w: SendingWindow = { days: ['sun'], start: '02:10', end: '03:00' };
    expect(nextWindowOpening(w, 'Australia/Lord_Howe', utc('2026-10-03T14:00:00Z'))).toBe(utc('2026-10-03T15:30:00Z'));
  });

  it('is null for a window without days', () => {
    expect(nextWindowOpening({ days: [], start: '09:00', end: '17:00' }, NY, utc('2026-03-04T12:00:00Z'))).toBeNull();
  });

  it('finds a once-a-week window six days ahead', () => {
    const w: SendingWindow = { days: ['tue'], start: '10:00', end: '10:01' };
    // From Tuesday 2026-03-03 10:01 UTC to Tuesday 2026-03-10 10:00.
    expect(nextWindowOpening(w, 'UTC', utc('2026-03-03T10:01:00Z'))).toBe(utc('2026-03-10T10:00:00Z'));
  });

  it('agrees with an independent minute-by-minute scan over four days around DST changes', () => {
    const windows: SendingWindow[] = [
      WORKDAYS,
      { days: ['sat', 'sun'], start: '01:30', end: '03:15' },
      { days: EVERY_DAY, start: '00:00', end: '02:30' },
    ];
    // Four days around each zone's changes of 2026.
    const cases: [string, number][] = [
      [NY, utc('2026-03-06T00:00:00Z')],
      [NY, utc('2026-10-30T00:00:00Z')],
      [BERLIN, utc('2026-03-27T00:00:00Z')],
      [BERLIN, utc('2026-10-23T00:00:00Z')],
      ['Australia/Sydney', utc('2026-04-02T00:00:00Z')],
      ['Australia/Sydney', utc('2026-10-01T00:00:00Z')],
      ['Pacific/Auckland', utc('2026-09-24T00:00:00Z')],
      ['Australia/Lord_Howe', utc('2026-04-02T00:00:00Z')],
    ];
    const mismatches: string[] = [];
    for (const [tz, start] of cases) {
      for (const w of windows) {
        const minutes = 4 * 1440;
        const openAt: boolean[] = [];
        const settings = { timezone: tz, window: w, limits: DEFAULT_LIMITS, warmup: null };
        for (let i = 0; i < minutes; i++) openAt.push(oracleInWindow(settings, start + i * 60_000));
        // Walking backwards: the first open minute at or after i.
        let nextOpen: number | null = null;
        for (let i = minutes - 1; i >= 0; i--) {
          const t = start + i * 60_000;
          if (openAt[i]) nextOpen = t;
          if (i % 5 !== 0 || nextOpen === null) continue;
          if (isInsideWindow(w, tz, t) !== openAt[i]) mismatches.push(`${tz} ${w.start}-${w.end} inside at ${new Date(t).toISOString()}`);
          const got = nextWindowOpening(w, tz, t);
          if (got !== nextOpen) mismatches.push(`${tz} ${w.start}-${w.end} at ${new Date(t).toISOString()}: ${got} != ${nextOpen}`);
        }
      }
    }
    expect(mismatches).toEqual([]);
  });
});
