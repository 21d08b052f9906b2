import fc from 'fast-check';
import { DEFAULT_LIMITS } from '../../../workflows/policy/defaults';
import * as policy from '../../../workflows/policy';
import { nextWindowOpening } from '../../../workflows/policy/window';
import { firstCommonInstant, OVERLAP_SPAN_MS, windowsCanOverlap } from '../../../workflows/policy/window-overlap';
import type { SendingWindow, WindowConstraint } from '../../../workflows/policy/types';
import { DAY, oracleInWindow } from './oracle';
import { windowArb, ZONES } from './simulation';

const utc = (iso: string) => Date.parse(iso);
const NY = 'America/New_York';
const BERLIN = 'Europe/Berlin';
const WEEKDAYS: SendingWindow['days'] = ['mon', 'tue', 'wed', 'thu', 'fri'];
const EVERY_DAY: SendingWindow['days'] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const at = (timezone: string, days: SendingWindow['days'], start: string, end: string): WindowConstraint => ({
  timezone,
  window: { days, start, end },
});
const inside = (c: WindowConstraint, t: number) => oracleInWindow({ timezone: c.timezone, window: c.window, limits: DEFAULT_LIMITS, warmup: null }, t);

describe('firstCommonInstant / windowsCanOverlap', () => {
  const WED = utc('2026-03-04T00:00:00Z'); // a Wednesday, before every 2026 DST change

  it('is exported from the policy barrel', () => {
    expect(policy.windowsCanOverlap).toBe(windowsCanOverlap);
    expect(policy.firstCommonInstant).toBe(firstCommonInstant);
    expect(OVERLAP_SPAN_MS).toBe(371 * DAY);
  });

  it('same zone: the later start of two overlapping ranges', () => {
    expect(firstCommonInstant(at('UTC', WEEKDAYS, '09:00', '17:00'), at('UTC', EVERY_DAY, '15:00', '20:00'), WED)).toBe(utc('2026-03-04T15:00:00Z'));
    expect(firstCommonInstant(at('UTC', WEEKDAYS, '09:00', '17:00'), at('UTC', WEEKDAYS, '09:00', '17:00'), utc('2026-03-04T12:34:56Z'))).toBe(
      utc('2026-03-04T12:34:56Z'),
    );
  });

  it('the end is exclusive: windows that only touch never overlap', () => {
    expect(windowsCanOverlap(at('UTC', EVERY_DAY, '09:00', '12:00'), at('UTC', EVERY_DAY, '12:00', '17:00'), WED)).toBe(false);
    // The same hours one zone apart do overlap.
    expect(firstCommonInstant(at('UTC', EVERY_DAY, '09:00', '12:00'), at(BERLIN, EVERY_DAY, '12:00', '17:00'), WED)).toBe(utc('2026-03-04T11:00:00Z'));
  });

  it('days that never meet', () => {
    expect(windowsCanOverlap(at('UTC', WEEKDAYS, '00:00', '24:00'), at('UTC', ['sat', 'sun'], '00:00', '24:00'), WED)).toBe(false);
    expect(windowsCanOverlap(at('UTC', [], '09:00', '17:00'), at('UTC', EVERY_DAY, '00:00', '24:00'), WED)).toBe(false);
  });

  it('days meet across zones: Saturday morning in Auckland is Friday evening in UTC', () => {
    const got = firstCommonInstant(at('UTC', ['fri'], '18:00', '24:00'), at('Pacific/Auckland', ['sat'], '08:00', '12:00'), WED);
    // Auckland is UTC+13 until 2026-04-05: Saturday 08:00 NZDT = Friday 19:00Z.
    expect(got).toBe(utc('2026-03-06T19:00:00Z'));
  });

  it('the same office hours six hours apart never overlap, all year', () => {
    expect(windowsCanOverlap(at(BERLIN, WEEKDAYS, '09:00', '10:00'), at(NY, WEEKDAYS, '09:00', '10:00'), utc('2026-01-05T00:00:00Z'))).toBe(false);
  });

  it('windows that meet only while the US is on summer time and Europe is not: a year finds it, two weeks from January do not', () => {
    // Berlin 15:00-16:00 is New York 09:00-10:00, except from 2026-03-08 (US change) to 03-29 (EU change): 10:00-11:00.
    const berlin = at(BERLIN, WEEKDAYS, '15:00', '16:00');
    const ny = at(NY, WEEKDAYS, '10:00', '10:30');
    const january = utc('2026-01-05T00:00:00Z');
    expect(windowsCanOverlap(berlin, ny, january, 14 * DAY)).toBe(false);
    expect(firstCommonInstant(berlin, ny, january)).toBe(utc('2026-03-09T14:00:00Z')); // Monday 10:00 EDT = 15:00 CET
    expect(firstCommonInstant(berlin, ny, utc('2026-03-27T15:00:00Z'))).toBe(utc('2026-10-26T14:00:00Z')); // Friday after: next in the autumn gap
  });

  it('finds the second pass of a fall-back hour', () => {
    // New York 01:00-01:30 on 2026-11-01 happens at 05:00Z (EDT) and again at 06:00Z (EST).
    const ny = at(NY, EVERY_DAY, '01:00', '01:30');
    const utcSunday = at('UTC', ['sun'], '06:00', '06:15');
    expect(firstCommonInstant(ny, utcSunday, utc('2026-10-24T00:00:00Z'), 9 * DAY)).toBe(utc('2026-11-01T06:00:00Z'));
  });

  it('a window inside the spring-forward gap does not exist that day; one starting in it opens at the jump', () => {
    const all = at('UTC', EVERY_DAY, '00:00', '24:00');
    const day = utc('2026-03-08T00:00:00Z');
    expect(firstCommonInstant(at(NY, ['sun'], '02:00', '02:45'), all, day, DAY)).toBeNull();
    expect(firstCommonInstant(at(NY, ['sun'], '02:30', '04:00'), all, day, DAY)).toBe(utc('2026-03-08T07:00:00Z'));
    // A half-hour jump (Lord Howe, 2026-10-04 02:00 -> 02:30).
    expect(firstCommonInstant(at('Australia/Lord_Howe', ['sun'], '02:10', '03:00'), all, utc('2026-10-03T12:00:00Z'), DAY)).toBe(
      utc('2026-10-03T15:30:00Z'),
    );
  });

  it('is symmetric and never earlier than fromMs', () => {
    const a = at('Asia/Kolkata', ['tue', 'thu'], '10:00', '18:00');
    const b = at('Australia/Sydney', EVERY_DAY, '13:00', '23:30');
    const from = utc('2026-03-05T10:17:00Z'); // inside both
    expect(firstCommonInstant(a, b, from)).toBe(from);
    expect(firstCommonInstant(b, a, from)).toBe(from);
  });

  it('with an always-open window it is the other window\'s next opening (random windows, zones and instants)', () => {
    const all = at('UTC', EVERY_DAY, '00:00', '24:00');
    fc.assert(
      fc.property(
        windowArb,
        fc.constantFrom(...ZONES),
        fc.integer({ min: 0, max: 400 * 86_400 }),
        (window, timezone, second) => {
          const from = utc('2026-01-01T00:00:00Z') + second * 1000;
          const c: WindowConstraint = { window, timezone };
          expect(firstCommonInstant(c, all, from)).toBe(nextWindowOpening(window, timezone, from));
          expect(firstCommonInstant(all, c, from)).toBe(nextWindowOpening(window, timezone, from));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('agrees with an independent minute-by-minute scan over three days around DST changes', () => {
    const changes = [
      '2026-03-07T00:00:00Z', '2026-03-28T00:00:00Z', '2026-04-04T00:00:00Z', '2026-09-26T00:00:00Z',
      '2026-10-03T00:00:00Z', '2026-10-24T00:00:00Z', '2026-10-31T00:00:00Z',
    ].map(utc);
    fc.assert(
      fc.property(
        windowArb,
        fc.constantFrom(...ZONES),
        windowArb,
        fc.constantFrom(...ZONES),
        fc.constantFrom(...changes),
        fc.integer({ min: 0, max: 1439 }),
        (wa, za, wb, zb, base, minute) => {
          const a: WindowConstraint = { window: wa, timezone: za };
          const b: WindowConstraint = { window: wb, timezone: zb };
          const from = base + minute * 60_000;
          const span = 3 * DAY;
          let want: number | null = null;
          for (let t = from; t < from + span; t += 60_000) {
            if (inside(a, t) && inside(b, t)) {
              want = t;
              break;
            }
          }
          // Every boundary of these windows and zones lies on a whole minute, so the minute scan is exact.
          expect(firstCommonInstant(a, b, from, span)).toBe(want);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('answers a year without overlap quickly (intervals, not minutes)', () => {
    const a = at(BERLIN, WEEKDAYS, '09:00', '10:00');
    const b = at('Pacific/Auckland', WEEKDAYS, '09:00', '10:00');
    const t0 = performance.now();
    for (let i = 0; i < 5; i++) expect(windowsCanOverlap(a, b, utc('2026-01-05T00:00:00Z') + i * DAY)).toBe(false);
    expect((performance.now() - t0) / 5).toBeLessThan(250);
  });

  it('throws a RangeError on an invalid window', () => {
    expect(() => windowsCanOverlap(at('UTC', EVERY_DAY, '10:00', '09:00'), at('UTC', EVERY_DAY, '00:00', '24:00'), WED)).toThrow(RangeError);
  });
});
