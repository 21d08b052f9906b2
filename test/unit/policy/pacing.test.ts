import { DEFAULT_LIMITS } from '../../../workflows/policy/defaults';
import { checkSlot } from '../../../workflows/policy/slot-check';
import { earliestSlot, recordGrant, releaseGrant } from '../../../workflows/policy/pacing';
import { applyOutcome } from '../../../workflows/policy/outcomes';
import { initialPolicyState, pause } from '../../../workflows/policy/state';
import type { MailboxLimits, MailboxPolicySettings, PolicyState, SendingWindow } from '../../../workflows/policy/types';

const utc = (iso: string) => Date.parse(iso);
const MIN = 60_000;
const HOUR = 3_600_000;
const WED_NOON = utc('2026-03-04T12:00:00Z'); // a Wednesday

function settings(over: Partial<MailboxLimits> = {}, rest: Partial<MailboxPolicySettings> = {}): MailboxPolicySettings {
  return {
    timezone: 'UTC',
    window: { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' },
    limits: { dailyMax: 50, hourlyMax: 10, minIntervalSeconds: 120, jitterRatio: 0.3, ...over },
    warmup: null,
    ...rest,
  };
}

function state(over: Partial<PolicyState> = {}): PolicyState {
  return { ...initialPolicyState(), ...over };
}

describe('earliestSlot: one reason per blocking rule', () => {
  it('ok: now itself when nothing blocks', () => {
    expect(earliestSlot(settings(), state(), WED_NOON)).toEqual({ at: WED_NOON, reason: 'ok' });
  });

  it('paused: no slot at all', () => {
    expect(earliestSlot(settings(), pause(state(), 'operator'), WED_NOON)).toEqual({ at: null, reason: 'paused' });
  });

  it('cooldown: the end of the cooldown', () => {
    expect(earliestSlot(settings(), state({ cooldownUntil: WED_NOON + 10 * MIN }), WED_NOON)).toEqual({
      at: WED_NOON + 10 * MIN,
      reason: 'cooldown',
    });
    // A cooldown ending after the window closes moves on to the next opening.
    expect(earliestSlot(settings(), state({ cooldownUntil: utc('2026-03-04T16:59:30Z') + MIN }), WED_NOON)).toEqual({
      at: utc('2026-03-05T09:00:00Z'),
      reason: 'cooldown',
    });
  });

  it('outside_window: the next opening, across the weekend', () => {
    expect(earliestSlot(settings(), state(), utc('2026-03-04T18:00:00Z'))).toEqual({ at: utc('2026-03-05T09:00:00Z'), reason: 'outside_window' });
    expect(earliestSlot(settings(), state(), utc('2026-03-06T17:00:00Z'))).toEqual({ at: utc('2026-03-09T09:00:00Z'), reason: 'outside_window' });
  });

  it('warmup_cap: the ramp is below dailyMax and today is full', () => {
    const s = settings({}, { warmup: { startPerDay: 2, increasePerDay: 1, maxPerDay: 40, startedOn: '2026-03-04' } });
    const full = state({ grants: [utc('2026-03-04T09:00:00Z'), utc('2026-03-04T10:00:00Z')] });
    expect(earliestSlot(s, full, WED_NOON)).toEqual({ at: utc('2026-03-05T09:00:00Z'), reason: 'warmup_cap' });
    expect(checkSlot(s, full, utc('2026-03-05T09:00:00Z'))).toBe('ok');
  });

  it('daily_cap: dailyMax is the binding cap (with or without warm-up)', () => {
    const full = state({ grants: [utc('2026-03-06T09:00:00Z'), utc('2026-03-06T10:00:00Z')] });
    // Friday full: Monday morning.
    expect(earliestSlot(settings({ dailyMax: 2 }), full, utc('2026-03-06T12:00:00Z'))).toEqual({ at: utc('2026-03-09T09:00:00Z'), reason: 'daily_cap' });
    const warm = settings({ dailyMax: 2 }, { warmup: { startPerDay: 5, increasePerDay: 3, maxPerDay: 50, startedOn: '2026-03-01' } });
    expect(earliestSlot(warm, full, utc('2026-03-06T12:00:00Z')).reason).toBe('daily_cap');
  });

  it('hourly_cap: when the oldest grant of the last hour leaves it', () => {
    const s = settings({ hourlyMax: 2 });
    const st = state({ grants: [WED_NOON - 50 * MIN, WED_NOON - 20 * MIN] });
    expect(earliestSlot(s, st, WED_NOON)).toEqual({ at: WED_NOON + 10 * MIN, reason: 'hourly_cap' });
  });

  it('min_interval: nextEarliestAt, or the nearest grant plus the interval', () => {
    expect(earliestSlot(settings(), state({ grants: [WED_NOON - 30_000], nextEarliestAt: WED_NOON + 97_000 }), WED_NOON)).toEqual({
      at: WED_NOON + 97_000,
      reason: 'min_interval',
    });
    // Without nextEarliestAt (e.g. after a release) the interval to neighbours still holds.
    expect(earliestSlot(settings(), state({ grants: [WED_NOON - 30_000] }), WED_NOON)).toEqual({ at: WED_NOON + 90_000, reason: 'min_interval' });
  });

  it('reports the first rule that blocks at now, in BlockReason order', () => {
    // In cooldown and outside the window: cooldown.
    expect(earliestSlot(settings(), state({ cooldownUntil: utc('2026-03-04T20:00:00Z') }), utc('2026-03-04T18:00:00Z')).reason).toBe('cooldown');
    // Outside the window and over the daily cap: outside_window.
    const full = state({ grants: [utc('2026-03-04T09:00:00Z')] });
    expect(earliestSlot(settings({ dailyMax: 1 }), full, utc('2026-03-04T18:00:00Z'))).toEqual({ at: utc('2026-03-05T09:00:00Z'), reason: 'outside_window' });
    // Over the daily cap and within the interval: daily_cap.
    expect(earliestSlot(settings({ dailyMax: 1 }), state({ grants: [WED_NOON - MIN] }), WED_NOON).reason).toBe('daily_cap');
    // Over the hourly cap and within the interval: hourly_cap.
    expect(earliestSlot(settings({ hourlyMax: 1 }), state({ grants: [WED_NOON - MIN] }), WED_NOON)).toEqual({ at: WED_NOON + 59 * MIN, reason: 'hourly_cap' });
  });
});

describe('earliestSlot: look-ahead', () => {
  it('finds Monday after a full Friday across the New York spring change', () => {
    const s = settings({ dailyMax: 1 }, { timezone: 'America/New_York' });
    const friday = state({ grants: [utc('2026-03-06T14:00:00Z')] }); // Fri 09:00 EST
    expect(earliestSlot(s, friday, utc('2026-03-06T15:00:00Z'))).toEqual({ at: utc('2026-03-09T13:00:00Z'), reason: 'daily_cap' });
  });

  it('finds Monday after a full Friday across the Berlin spring change', () => {
    const s = settings({ dailyMax: 1 }, { timezone: 'Europe/Berlin' });
    const friday = state({ grants: [utc('2026-03-27T08:00:00Z')] }); // Fri 09:00 CET
    expect(earliestSlot(s, friday, utc('2026-03-27T09:00:00Z'))).toEqual({ at: utc('2026-03-30T07:00:00Z'), reason: 'daily_cap' });
  });

  it('reaches past a cooldown that lasts weeks', () => {
    const until = utc('2026-03-25T10:00:00Z'); // a Wednesday, inside the window
    expect(earliestSlot(settings(), state({ cooldownUntil: until }), WED_NOON)).toEqual({ at: until, reason: 'cooldown' });
  });

  it('returns null only for settings that can never send', () => {
    const noDays: SendingWindow = { days: [], start: '09:00', end: '17:00' };
    expect(earliestSlot(settings({}, { window: noDays }), state(), WED_NOON)).toEqual({ at: null, reason: 'outside_window' });
    expect(earliestSlot(settings({ dailyMax: 0 }), state(), WED_NOON)).toEqual({ at: null, reason: 'daily_cap' });
    const frozen = settings({}, { warmup: { startPerDay: 0, increasePerDay: 0, maxPerDay: 10, startedOn: '2026-03-01' } });
    expect(earliestSlot(frozen, state(), WED_NOON)).toEqual({ at: null, reason: 'warmup_cap' });
  });

  it('a ramp starting at 0 a day sends on its first day with a positive cap', () => {
    const s = settings({}, { warmup: { startPerDay: 0, increasePerDay: 2, maxPerDay: 10, startedOn: '2026-03-04' } });
    expect(earliestSlot(s, state(), WED_NOON)).toEqual({ at: utc('2026-03-05T09:00:00Z'), reason: 'warmup_cap' });
  });
});

describe('earliestSlot: reservations in the future count too', () => {
  it('keeps the minimum interval to a later grant', () => {
    expect(earliestSlot(settings(), state({ grants: [WED_NOON + 60_000] }), WED_NOON)).toEqual({ at: WED_NOON + 180_000, reason: 'min_interval' });
    // Far enough before a later grant is fine.
    expect(earliestSlot(settings(), state({ grants: [WED_NOON + 120_000] }), WED_NOON)).toEqual({ at: WED_NOON, reason: 'ok' });
  });

  it('keeps the hourly cap over windows around the slot', () => {
    const s = settings({ hourlyMax: 2 });
    // Later grants at +10 and +20 min: any slot before +80 min shares an hour with both.
    expect(earliestSlot(s, state({ grants: [WED_NOON + 10 * MIN, WED_NOON + 20 * MIN] }), WED_NOON)).toEqual({
      at: WED_NOON + 70 * MIN,
      reason: 'hourly_cap',
    });
    // One grant before and one after: the hour between them is full until the first leaves it.
    expect(earliestSlot(s, state({ grants: [WED_NOON - 30 * MIN, WED_NOON + 25 * MIN] }), WED_NOON)).toEqual({
      at: WED_NOON + 30 * MIN,
      reason: 'hourly_cap',
    });
  });

  it('counts later grants of the same day against the daily cap', () => {
    const st = state({ grants: [utc('2026-03-04T15:00:00Z'), utc('2026-03-04T16:00:00Z')] });
    expect(earliestSlot(settings({ dailyMax: 2 }), st, WED_NOON)).toEqual({ at: utc('2026-03-05T09:00:00Z'), reason: 'daily_cap' });
  });
});

describe('recordGrant', () => {
  it('sets nextEarliestAt to at + minInterval * (1 + jitterRatio * random01): jitter only adds', () => {
    const s = settings({ minIntervalSeconds: 120, jitterRatio: 0.3 });
    expect(recordGrant(s, state(), WED_NOON, 0).nextEarliestAt).toBe(WED_NOON + 120_000);
    expect(recordGrant(s, state(), WED_NOON, 0.5).nextEarliestAt).toBe(WED_NOON + 138_000);
    expect(recordGrant(s, state(), WED_NOON, 0.999999).nextEarliestAt).toBe(WED_NOON + 156_000);
    // Rounded up to whole ms.
    expect(recordGrant(settings({ minIntervalSeconds: 1, jitterRatio: 0.3 }), state(), WED_NOON, 1 / 3).nextEarliestAt).toBe(WED_NOON + 1100);
  });

  it('is pure: the input state is not changed', () => {
    const before = state({ grants: [WED_NOON - HOUR] });
    const snapshot = JSON.stringify(before);
    const after = recordGrant(settings(), before, WED_NOON, 0.2);
    expect(JSON.stringify(before)).toBe(snapshot);
    expect(after.grants).toEqual([WED_NOON - HOUR, WED_NOON]);
  });

  it('refuses a slot the rules do not allow', () => {
    const s = settings();
    const once = recordGrant(s, state(), WED_NOON, 0);
    expect(() => recordGrant(s, once, WED_NOON + 1000, 0)).toThrow(/not allowed \(min_interval\)/);
    expect(() => recordGrant(s, state(), utc('2026-03-07T12:00:00Z'), 0)).toThrow(/outside_window/);
    expect(() => recordGrant(s, pause(state(), 'x'), WED_NOON, 0)).toThrow(/paused/);
  });

  it('rejects random01 outside [0, 1)', () => {
    for (const r of [1, -0.1, Number.NaN]) expect(() => recordGrant(settings(), state(), WED_NOON, r)).toThrow(RangeError);
  });

  it('fills a gap before a later reservation, keeping the interval to it', () => {
    const s = settings({ jitterRatio: 0 });
    const st = state({ grants: [WED_NOON + HOUR], nextEarliestAt: null });
    const filled = recordGrant(s, st, WED_NOON, 0);
    expect(filled.grants).toEqual([WED_NOON, WED_NOON + HOUR]);
    expect(earliestSlot(s, filled, WED_NOON + HOUR - 2 * MIN)).toEqual({ at: WED_NOON + HOUR - 2 * MIN, reason: 'ok' });
    expect(earliestSlot(s, filled, WED_NOON + HOUR - MIN)).toEqual({ at: WED_NOON + HOUR + 2 * MIN, reason: 'min_interval' });
  });

  it('stays about a day long when each send reports its outcome (applyOutcome prunes)', () => {
    const s = settings({ dailyMax: 100, hourlyMax: 20, minIntervalSeconds: 60 }, { window: { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '00:00', end: '24:00' } });
    let st = state();
    let now = utc('2026-03-01T00:00:00Z');
    for (let i = 0; i < 10 * 24; i++) {
      const { at } = earliestSlot(s, st, now);
      st = recordGrant(s, st, at as number, 0.5);
      st = applyOutcome(s, st, 'sent', at as number).state;
      now = (at as number) + HOUR;
    }
    // One grant an hour: the current local day plus the hour before it.
    expect(st.grants.length).toBeLessThanOrEqual(26);
    expect(st.grants[0]).toBeGreaterThanOrEqual(utc('2026-03-10T00:00:00Z') - HOUR);
  });

  it('keeps today\'s grants when a reservation for tomorrow is recorded and then released', () => {
    const s = settings({ dailyMax: 2, jitterRatio: 0 });
    let st = recordGrant(s, state(), utc('2026-03-04T09:00:00Z'), 0);
    st = recordGrant(s, st, utc('2026-03-04T10:00:00Z'), 0);
    const tomorrow = earliestSlot(s, st, utc('2026-03-04T10:30:00Z'));
    expect(tomorrow).toEqual({ at: utc('2026-03-05T09:00:00Z'), reason: 'daily_cap' });
    st = recordGrant(s, st, tomorrow.at as number, 0);
    st = recordGrant(s, st, earliestSlot(s, st, utc('2026-03-04T10:31:00Z')).at as number, 0);
    // Both reservations given back (their campaign paused): today is still full.
    st = releaseGrant(releaseGrant(st, utc('2026-03-05T09:02:00Z')), utc('2026-03-05T09:00:00Z'));
    expect(earliestSlot(s, st, utc('2026-03-04T10:40:00Z'))).toEqual({ at: utc('2026-03-05T09:00:00Z'), reason: 'daily_cap' });
  });
});

describe('releaseGrant', () => {
  const s = settings({ jitterRatio: 0.5 });

  it('gives the slot back and rewinds nextEarliestAt to the previous grant plus the same spacing', () => {
    let st = recordGrant(s, state(), WED_NOON, 0.2); // spacing 132 s
    st = recordGrant(s, st, st.nextEarliestAt as number, 0.8); // spacing 168 s
    const second = WED_NOON + 132_000;
    expect(st.grants).toEqual([WED_NOON, second]);
    const released = releaseGrant(st, second);
    expect(released.grants).toEqual([WED_NOON]);
    expect(released.nextEarliestAt).toBe(WED_NOON + 168_000);
    expect(released.nextEarliestAt as number).toBeGreaterThanOrEqual(WED_NOON + 120_000);
    expect(st.grants).toEqual([WED_NOON, second]); // pure
  });

  it('leaves nextEarliestAt alone when an earlier grant is released', () => {
    const st = state({ grants: [WED_NOON, WED_NOON + HOUR], nextEarliestAt: WED_NOON + HOUR + 150_000 });
    expect(releaseGrant(st, WED_NOON)).toMatchObject({ grants: [WED_NOON + HOUR], nextEarliestAt: WED_NOON + HOUR + 150_000 });
  });

  it('clears nextEarliestAt when the last grant goes, and ignores unknown slots', () => {
    const st = recordGrant(s, state(), WED_NOON, 0);
    expect(releaseGrant(st, WED_NOON)).toMatchObject({ grants: [], nextEarliestAt: null });
    expect(releaseGrant(st, WED_NOON + 1)).toEqual(st);
  });

  it('makes the capacity available again', () => {
    const capped = settings({ dailyMax: 2, jitterRatio: 0 });
    let st = recordGrant(capped, state(), WED_NOON, 0);
    st = recordGrant(capped, st, WED_NOON + HOUR, 0); // a reservation an hour ahead
    expect(earliestSlot(capped, st, WED_NOON + 10 * MIN).reason).toBe('daily_cap');
    const released = releaseGrant(st, WED_NOON + HOUR);
    expect(earliestSlot(capped, released, WED_NOON + 10 * MIN)).toEqual({ at: WED_NOON + 10 * MIN, reason: 'ok' });
  });
});

describe('performance', () => {
  it('answers in well under a millisecond with 50 grants', () => {
    const s = settings({ dailyMax: 100, hourlyMax: 20, minIntervalSeconds: 60 }, { timezone: 'Europe/Berlin', window: { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '00:00', end: '24:00' } });
    let st = state();
    let now = utc('2026-03-04T00:00:00Z');
    for (let i = 0; i < 50; i++) {
      const { at } = earliestSlot(s, st, now);
      st = recordGrant(s, st, at as number, 0.3);
      now = at as number;
    }
    expect(st.grants).toHaveLength(50);
    const runs = 2000;
    const started = performance.now();
    for (let i = 0; i < runs; i++) earliestSlot(s, st, now + i * 7_000);
    const perCall = (performance.now() - started) / runs;
    expect(perCall).toBeLessThan(0.5); // typically ~0.04 ms; loose for loaded CI machines
  });
});

describe('defaults', () => {
  it('DEFAULT_LIMITS fit the daily cap into an 8-hour window', () => {
    expect(DEFAULT_LIMITS.hourlyMax * 8).toBeGreaterThanOrEqual(DEFAULT_LIMITS.dailyMax);
    expect(DEFAULT_LIMITS.minIntervalSeconds * DEFAULT_LIMITS.hourlyMax).toBeLessThanOrEqual(3600);
  });
});
