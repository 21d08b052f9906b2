/**
 * The slot search under an extra window (a campaign's, in its own zone): a
 * slot must lie inside both the mailbox's window and the extra one.
 */
import fc from 'fast-check';
import { applyOutcome } from '../../../workflows/policy/outcomes';
import { earliestSlot, recordGrant } from '../../../workflows/policy/pacing';
import { checkSlot } from '../../../workflows/policy/slot-check';
import { initialPolicyState } from '../../../workflows/policy/state';
import type { MailboxLimits, MailboxPolicySettings, PolicyState, SendingWindow, WindowConstraint } from '../../../workflows/policy/types';
import { DAY, HOUR, maxInAnyHour, oracleAllowed, oracleInWindow, oracleState, prng } from './oracle';
import { settingsArb, spanStartArb, windowArb, ZONES } from './simulation';

const utc = (iso: string) => Date.parse(iso);
const MIN = 60_000;
const NY = 'America/New_York';
const BERLIN = 'Europe/Berlin';
const WED_NOON = utc('2026-03-04T12:00:00Z'); // a Wednesday
const EVERY_DAY: SendingWindow['days'] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

function settings(over: Partial<MailboxLimits> = {}, rest: Partial<MailboxPolicySettings> = {}): MailboxPolicySettings {
  return {
    timezone: 'UTC',
    window: { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' },
    limits: { dailyMax: 50, hourlyMax: 10, minIntervalSeconds: 120, jitterRatio: 0, ...over },
    warmup: null,
    ...rest,
  };
}
const state = (over: Partial<PolicyState> = {}): PolicyState => ({ ...initialPolicyState(), ...over });
const campaign = (timezone: string, days: SendingWindow['days'], start: string, end: string): WindowConstraint => ({
  timezone,
  window: { days, start, end },
});
/** Campaign-like windows: several days, hours long, so most pairs with a mailbox window meet. */
const wideWindowArb = fc
  .record({ days: fc.subarray(EVERY_DAY, { minLength: 3 }), start: fc.integer({ min: 0, max: 16 }), hours: fc.integer({ min: 4, max: 24 }) })
  .map(({ days, start, hours }) => ({ days, start: `${String(start).padStart(2, '0')}:00`, end: start + hours >= 24 ? '24:00' : `${String(start + hours).padStart(2, '0')}:00` }));
const insideExtra = (c: WindowConstraint, t: number) =>
  oracleInWindow({ timezone: c.timezone, window: c.window, limits: settings().limits, warmup: null }, t);

describe('earliestSlot with a campaign window', () => {
  it('waits for the campaign window when only it is closed, with reason campaign_window', () => {
    // Berlin 14:00 CET = 13:00Z, inside the mailbox's 09-17 UTC.
    const c = campaign(BERLIN, EVERY_DAY, '14:00', '16:00');
    expect(earliestSlot(settings(), state(), WED_NOON, c)).toEqual({ at: utc('2026-03-04T13:00:00Z'), reason: 'campaign_window' });
    expect(checkSlot(settings(), state(), WED_NOON, c)).toBe('campaign_window');
    expect(checkSlot(settings(), state(), utc('2026-03-04T13:00:00Z'), c)).toBe('ok');
  });

  it('is now itself inside both, and ok', () => {
    const c = campaign(NY, EVERY_DAY, '06:00', '08:00'); // 11:00-13:00Z
    expect(earliestSlot(settings(), state(), WED_NOON, c)).toEqual({ at: WED_NOON, reason: 'ok' });
  });

  it('outside the mailbox window first: outside_window, and the first instant inside both', () => {
    // Wednesday 18:00Z: the mailbox is closed; the campaign opens 10:00 New York = 15:00Z on Thursday.
    const c = campaign(NY, EVERY_DAY, '10:00', '20:00');
    expect(earliestSlot(settings(), state(), utc('2026-03-04T18:00:00Z'), c)).toEqual({ at: utc('2026-03-05T15:00:00Z'), reason: 'outside_window' });
  });

  it('skips to the next common day when the common hours are over', () => {
    // Campaign Monday and Thursday only, 16:00-18:00Z: Wednesday noon -> Thursday 16:00.
    const c = campaign('UTC', ['mon', 'thu'], '16:00', '18:00');
    expect(earliestSlot(settings(), state(), WED_NOON, c)).toEqual({ at: utc('2026-03-05T16:00:00Z'), reason: 'campaign_window' });
  });

  it('caps still apply inside the common window: the interval pushes the next slot past it to the next day', () => {
    const c = campaign('UTC', EVERY_DAY, '12:00', '12:03');
    let st = state();
    st = recordGrant(settings(), st, WED_NOON, 0, c);
    st = recordGrant(settings(), st, WED_NOON + 2 * MIN, 0, c);
    // Next allowed by the interval is 12:04, outside 12:00-12:03: Thursday 12:00.
    expect(earliestSlot(settings(), st, WED_NOON + 2 * MIN, c)).toEqual({ at: utc('2026-03-05T12:00:00Z'), reason: 'min_interval' });
    // Without the campaign window it would be 12:04.
    expect(earliestSlot(settings(), st, WED_NOON + 2 * MIN).at).toBe(WED_NOON + 4 * MIN);
  });

  it('counts the daily cap in the mailbox day, whatever the campaign zone', () => {
    const full = state({ grants: [utc('2026-03-04T09:00:00Z'), utc('2026-03-04T10:00:00Z')] });
    const c = campaign('Pacific/Auckland', EVERY_DAY, '00:00', '24:00');
    expect(earliestSlot(settings({ dailyMax: 2 }), full, WED_NOON, c)).toEqual({ at: utc('2026-03-05T09:00:00Z'), reason: 'daily_cap' });
  });

  it('follows the campaign zone across its DST change (New York, 2026-03-08)', () => {
    const s = settings({}, { window: { days: EVERY_DAY, start: '00:00', end: '24:00' } });
    const c = campaign(NY, EVERY_DAY, '09:00', '10:00');
    expect(earliestSlot(s, state(), utc('2026-03-07T00:00:00Z'), c).at).toBe(utc('2026-03-07T14:00:00Z')); // EST
    expect(earliestSlot(s, state(), utc('2026-03-07T15:00:00Z'), c).at).toBe(utc('2026-03-08T13:00:00Z')); // EDT
    // A campaign window starting in the gap opens at the jump (03:00 EDT = 07:00Z).
    expect(earliestSlot(s, state(), utc('2026-03-08T05:00:00Z'), campaign(NY, ['sun'], '02:30', '04:00')).at).toBe(utc('2026-03-08T07:00:00Z'));
  });

  it('never overlapping: no slot, reason campaign_window, even when something else blocks now', () => {
    const never = campaign('UTC', ['sat', 'sun'], '09:00', '17:00');
    expect(earliestSlot(settings(), state(), WED_NOON, never)).toEqual({ at: null, reason: 'campaign_window' });
    expect(earliestSlot(settings(), state({ cooldownUntil: WED_NOON + HOUR }), WED_NOON, never)).toEqual({ at: null, reason: 'campaign_window' });
    expect(earliestSlot(settings(), state(), utc('2026-03-04T20:00:00Z'), never)).toEqual({ at: null, reason: 'campaign_window' });
    // Paused still says paused.
    expect(earliestSlot(settings(), state({ paused: true }), WED_NOON, never)).toEqual({ at: null, reason: 'paused' });
  });

  it('windows that first meet beyond the look-ahead: no slot yet, reason campaign_window, retryAt that first instant', () => {
    // Auckland 18:21-24:00 is 06:21Z on NZST (+12) and 05:21Z on NZDT (+13, from 2026-09-27): only then does it meet 05:32-06:11Z.
    const s = settings({}, { timezone: 'Pacific/Auckland', window: { days: ['mon', 'tue', 'fri'], start: '18:21', end: '24:00' } });
    const c = campaign('UTC', EVERY_DAY, '05:32', '06:11');
    expect(earliestSlot(s, state(), utc('2026-09-10T00:00:00Z'), c)).toEqual({ at: null, reason: 'campaign_window', retryAt: utc('2026-09-28T05:32:00Z') });
    expect(earliestSlot(s, state(), utc('2026-09-20T00:00:00Z'), c)).toEqual({ at: utc('2026-09-28T05:32:00Z'), reason: 'outside_window' });
  });

  it('a zero cap with a window that does overlap keeps the cap as the reason', () => {
    const c = campaign('UTC', EVERY_DAY, '00:00', '24:00');
    expect(earliestSlot(settings({ dailyMax: 0 }), state(), WED_NOON, c)).toEqual({ at: null, reason: 'daily_cap' });
  });

  it('recordGrant refuses a slot outside the extra window it is given', () => {
    const c = campaign(BERLIN, EVERY_DAY, '14:00', '16:00');
    expect(() => recordGrant(settings(), state(), WED_NOON, 0, c)).toThrow(/campaign_window/);
    expect(recordGrant(settings(), state(), WED_NOON, 0).grants).toEqual([WED_NOON]); // unchanged without it
  });

  it('throws a RangeError on an invalid extra window', () => {
    expect(() => earliestSlot(settings(), state(), WED_NOON, campaign('UTC', EVERY_DAY, '18:00', '09:00'))).toThrow(RangeError);
  });
});

describe('extra windows that do not narrow anything change nothing', () => {
  it('an always-open extra window, or the mailbox own window, gives the same slot as none', () => {
    const arb = spanStartArb.chain((start) =>
      fc.record({
        start: fc.constant(start),
        settings: settingsArb(start),
        history: fc.array(fc.integer({ min: 0, max: 2 * 86_400 }), { maxLength: 30 }),
        nowOffset: fc.integer({ min: 0, max: 2 * 86_400 }),
        zone: fc.constantFrom(...ZONES),
        seed: fc.integer(),
      }),
    );
    fc.assert(
      fc.property(arb, ({ start, settings: s, history, nowOffset, zone, seed }) => {
        const rng = prng(seed);
        let st = initialPolicyState();
        for (const offset of [...history].sort((a, b) => a - b)) {
          const { at } = earliestSlot(s, st, start + offset * 1000);
          if (at !== null && at < start + 4 * DAY) st = recordGrant(s, st, at, rng());
        }
        const now = start + nowOffset * 1000;
        const plain = earliestSlot(s, st, now);
        expect(earliestSlot(s, st, now, undefined)).toEqual(plain);
        expect(earliestSlot(s, st, now, null)).toEqual(plain);
        expect(earliestSlot(s, st, now, { window: s.window, timezone: s.timezone })).toEqual(plain);
        expect(earliestSlot(s, st, now, campaign(zone, EVERY_DAY, '00:00', '24:00')).at).toBe(plain.at);
      }),
      { numRuns: 40 },
    );
  });
});

describe('earliestSlot with an extra window is the earliest instant allowed by both', () => {
  it('agrees with a brute-force scan of the independent rules plus the extra window', () => {
    const arb = spanStartArb.chain((start) =>
      fc.record({
        start: fc.constant(start),
        settings: settingsArb(start),
        extra: fc.record({ window: windowArb, timezone: fc.constantFrom(...ZONES) }),
        history: fc.array(fc.integer({ min: 0, max: 2 * 86_400 }), { maxLength: 30 }),
        nowOffset: fc.integer({ min: 0, max: 2 * 86_400 }),
        seed: fc.integer(),
      }),
    );
    fc.assert(
      fc.property(arb, ({ start, settings: s, extra, history, nowOffset, seed }) => {
        const rng = prng(seed);
        let st = initialPolicyState();
        for (const offset of [...history].sort((a, b) => a - b)) {
          const { at } = earliestSlot(s, st, start + offset * 1000, extra);
          if (at !== null && at < start + 4 * DAY) st = recordGrant(s, st, at, rng(), extra);
        }
        const now = start + nowOffset * 1000;
        const { at, reason } = earliestSlot(s, st, now, extra);
        const oracle = oracleState(s, st);
        const allowed = (t: number) => oracleAllowed(s, oracle, t) && insideExtra(extra, t);
        if (at !== null) {
          expect(allowed(at)).toBe(true);
          expect(reason === 'ok').toBe(at === now);
        }
        // No earlier instant where an allowed stretch can begin (two days at most).
        const end = Math.min(at ?? Infinity, now + 2 * DAY);
        const probes = new Set<number>([now]);
        for (let t = Math.ceil(now / MIN) * MIN; t < end; t += MIN) probes.add(t);
        const interval = s.limits.minIntervalSeconds * 1000;
        for (const g of st.grants) for (const t of [g + interval, g + HOUR, g - interval]) probes.add(t);
        for (const t of [st.cooldownUntil, st.nextEarliestAt]) if (t !== null) probes.add(t);
        const earlier = [...probes].filter((t) => t >= now && t < end && allowed(t));
        expect(earlier.map((t) => new Date(t).toISOString())).toEqual([]);
      }),
      { numRuns: 40 },
    );
  });

  it('over two simulated weeks of continuous demand every grant is inside both windows and under every cap', () => {
    const arb = spanStartArb.chain((start) =>
      fc.record({
        start: fc.constant(start),
        settings: settingsArb(start),
        extra: fc.record({ window: wideWindowArb, timezone: fc.constantFrom(...ZONES) }),
        seed: fc.integer(),
      }),
    );
    let granted = 0;
    fc.assert(
      fc.property(arb, ({ start, settings: s, extra, seed }) => {
        const rng = prng(seed);
        let st = initialPolicyState();
        let now = start;
        const times: number[] = [];
        while (now < start + 14 * DAY) {
          const { at } = earliestSlot(s, st, now, extra);
          if (at === null || at >= start + 14 * DAY) break;
          st = recordGrant(s, st, at, rng(), extra);
          st = applyOutcome(s, st, 'sent', at).state;
          times.push(at);
          now = at;
        }
        granted += times.length;
        const outside = times.filter((t) => !oracleInWindow(s, t) || !insideExtra(extra, t));
        expect(outside.map((t) => new Date(t).toISOString())).toEqual([]);
        expect(maxInAnyHour(times)).toBeLessThanOrEqual(s.limits.hourlyMax);
        for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(s.limits.minIntervalSeconds * 1000);
      }),
      // A fixed seed: the count below checks the runs are not vacuous, and random windows sometimes share too little for it.
      { numRuns: 15, seed: 20261201 },
    );
    expect(granted).toBeGreaterThan(15 * 10); // the runs did grant (random windows often share only a few hours a week)
  });
});
