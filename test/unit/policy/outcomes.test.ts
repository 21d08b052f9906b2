import { DEFAULT_COOLDOWN, DEFAULT_WINDOW, resolveCooldown } from '../../../workflows/policy/defaults';
import { applyOutcome } from '../../../workflows/policy/outcomes';
import { earliestSlot } from '../../../workflows/policy/pacing';
import { initialPolicyState, pause, resume } from '../../../workflows/policy/state';
import type { CooldownSettings, MailboxPolicySettings, Outcome, PolicyState } from '../../../workflows/policy/types';

const NOW = Date.parse('2026-03-04T12:00:00Z'); // a Wednesday, inside the window
const HOUR = 3_600_000;

function settings(cooldown?: Partial<CooldownSettings>): MailboxPolicySettings {
  return {
    timezone: 'UTC',
    window: { ...DEFAULT_WINDOW, days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '00:00', end: '24:00' },
    limits: { dailyMax: 50, hourlyMax: 10, minIntervalSeconds: 60, jitterRatio: 0 },
    warmup: null,
    cooldown,
  };
}

/** Replays as a history recorded before the one reputation rule does (workflows/policy/legacy-ring.ts). */
const L = { legacyRing: true } as const;

function feed(s: MailboxPolicySettings, st: PolicyState, outcomes: Outcome[], at = NOW, detail: { legacyRing?: boolean } = {}) {
  let state = st;
  let cooled = false;
  for (const o of outcomes) {
    const r = applyOutcome(s, state, o, at, detail);
    state = r.state;
    cooled = r.cooled;
  }
  return { state, cooled };
}

const repeat = (o: Outcome, n: number): Outcome[] => Array.from({ length: n }, () => o);

describe('throttled', () => {
  it('backs off 300, 600, 1200, ... seconds, capped at throttleMax', () => {
    const s = settings();
    let st = initialPolicyState();
    const delays: number[] = [];
    for (let i = 0; i < 9; i++) {
      const now = NOW + i * 24 * HOUR; // far apart, so each cooldown is its own
      const r = applyOutcome(s, st, 'throttled', now);
      expect(r.cooled).toBe(true);
      delays.push(((r.state.cooldownUntil as number) - now) / 1000);
      st = r.state;
    }
    expect(delays).toEqual([300, 600, 1200, 2400, 4800, 9600, 19200, 21600, 21600]);
    expect(st.throttleStreak).toBe(9);
  });

  it('never shortens a longer cooldown already running', () => {
    const st = { ...initialPolicyState(), cooldownUntil: NOW + 10 * HOUR };
    expect(applyOutcome(settings(), st, 'throttled', NOW).state.cooldownUntil).toBe(NOW + 10 * HOUR);
  });

  it("follows the provider's Retry-After instead of the default backoff, above a floor that doubles with repeats", () => {
    const st = initialPolicyState();
    expect(applyOutcome(settings(), st, 'throttled', NOW, { retryAfterMs: 2 * HOUR }).state.cooldownUntil).toBe(NOW + 2 * HOUR);
    expect(applyOutcome(settings(), st, 'throttled', NOW, { retryAfterMs: 1500 }).state.cooldownUntil).toBe(NOW + 1500);
    // "Retry now" again and again: 1 s, 2 s, 4 s, 8 s… never a hot loop.
    let s = st;
    const floors: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = applyOutcome(settings(), { ...s, cooldownUntil: null }, 'throttled', NOW, { retryAfterMs: 0 });
      floors.push(r.state.cooldownUntil! - NOW);
      s = r.state;
    }
    expect(floors).toEqual([1000, 2000, 4000, 8000]);
  });

  it('resets the streak on sent or delivered', () => {
    const s = settings();
    for (const reset of ['sent', 'delivered'] as const) {
      const { state } = feed(s, initialPolicyState(), ['throttled', 'throttled', reset]);
      expect(state.throttleStreak).toBe(0);
      expect((applyOutcome(s, state, 'throttled', NOW + 24 * HOUR).state.cooldownUntil as number) - (NOW + 24 * HOUR)).toBe(300_000);
    }
    // A bounce is not a success: the streak stays.
    expect(feed(s, initialPolicyState(), ['throttled', 'bounced']).state.throttleStreak).toBe(1);
  });

  it('makes earliestSlot wait for the cooldown', () => {
    const s = settings();
    const { state } = applyOutcome(s, initialPolicyState(), 'throttled', NOW);
    expect(earliestSlot(s, state, NOW + 1000)).toEqual({ at: NOW + 300_000, reason: 'cooldown' });
  });

  it('uses configured base and cap', () => {
    const s = settings({ throttleBaseSeconds: 10, throttleMaxSeconds: 25 });
    const { state } = feed(s, initialPolicyState(), ['throttled', 'throttled']);
    expect(state.cooldownUntil).toBe(NOW + 20_000);
    expect(applyOutcome(s, state, 'throttled', NOW).state.cooldownUntil).toBe(NOW + 25_000);
  });
});

describe("bounces and complaints: only the one reputation rule's verdict cools the mailbox", () => {
  it('cools down for the verdict it carries (retryAfterMs), then grants again', () => {
    const s = settings();
    const r = applyOutcome(s, initialPolicyState(), 'bounced', NOW, { retryAfterMs: 12 * HOUR });
    expect(r).toMatchObject({ cooled: true, paused: false });
    expect(r.state.cooldownUntil).toBe(NOW + 12 * HOUR);
    expect(earliestSlot(s, r.state, NOW + HOUR)).toEqual({ at: NOW + 12 * HOUR, reason: 'cooldown' });
    expect(earliestSlot(s, r.state, NOW + 12 * HOUR).reason).toBe('ok');
    expect(applyOutcome(s, initialPolicyState(), 'complained', NOW, { retryAfterMs: 24 * HOUR }).state.cooldownUntil).toBe(NOW + 24 * HOUR);
  });

  it('judges nothing itself: without a verdict no burst of bounces or complaint cools it (the old ring is gone)', () => {
    const s = settings();
    // The ring cooled a mailbox for 12 h on 2 bounces in 10 outcomes and for 24 h on any complaint.
    const ringWould = feed(s, initialPolicyState(), [...repeat('sent', 8), 'bounced', 'bounced'], NOW, L);
    expect(ringWould.cooled).toBe(true);
    const now = feed(s, initialPolicyState(), [...repeat('sent', 8), 'bounced', 'bounced', 'complained', ...repeat('bounced', 20)]);
    expect(now.cooled).toBe(false);
    expect(now.state.cooldownUntil).toBeNull();
    expect(now.state.recentOutcomes).toEqual([]); // nothing recorded for a ring
  });

  it('never shortens a longer cooldown, and ignores a zero, negative or non-finite verdict', () => {
    const s = settings();
    const cooling = { ...initialPolicyState(), cooldownUntil: NOW + 30 * HOUR };
    expect(applyOutcome(s, cooling, 'complained', NOW, { retryAfterMs: HOUR }).state.cooldownUntil).toBe(NOW + 30 * HOUR);
    for (const bad of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(applyOutcome(s, initialPolicyState(), 'bounced', NOW, { retryAfterMs: bad }).cooled).toBe(false);
    }
  });

  it('drops a ring a run recorded before the rule carried over', () => {
    const carried = { ...initialPolicyState(), recentOutcomes: ['ok', 'bounced', 'bounced'] as PolicyState['recentOutcomes'] };
    expect(applyOutcome(settings(), carried, 'bounced', NOW).state.recentOutcomes).toEqual([]);
  });
});

describe('legacy ring, replaying histories from before the one reputation rule: bounce spike', () => {
  it('records sends and bounces in a ring of the last bounceWindow outcomes', () => {
    const { state } = feed(settings(), initialPolicyState(), [...repeat('sent', 25), 'delivered'], NOW, L);
    expect(state.recentOutcomes).toEqual(repeat('sent', 20).map(() => 'ok'));
  });

  it('cools down for bounceCooldownHours when the rate goes above the threshold, then clears the ring', () => {
    const s = settings();
    // 18 sent + 1 bounce = 1/19 > 5%: already a spike once 10 outcomes are in.
    const { state: warm } = feed(s, initialPolicyState(), repeat('sent', 18), NOW, L);
    const r = applyOutcome(s, warm, 'bounced', NOW, L);
    expect(r.cooled).toBe(true);
    expect(r.state.cooldownUntil).toBe(NOW + 12 * HOUR);
    expect(r.state.recentOutcomes).toEqual([]);
    // The next bounce alone does not re-trigger: the ring is below the minimum sample.
    expect(applyOutcome(s, r.state, 'bounced', NOW + 13 * HOUR, L).cooled).toBe(false);
  });

  it('needs more than the threshold: 1 bounce in a full window of 20 is exactly 5%, 2 are a spike', () => {
    const s = settings();
    const { state: full } = feed(s, initialPolicyState(), repeat('sent', 19), NOW, L);
    const one = applyOutcome(s, full, 'bounced', NOW, L);
    expect(one.cooled).toBe(false);
    expect(one.state.recentOutcomes).toHaveLength(20);
    const sentMore = feed(s, one.state, repeat('sent', 5), NOW, L).state; // the bounce is still in the last 20
    const two = applyOutcome(s, sentMore, 'bounced', NOW, L);
    expect(two.cooled).toBe(true);
  });

  it('waits for bounceMinSample outcomes before judging', () => {
    const s = settings();
    const { state, cooled } = feed(s, initialPolicyState(), ['sent', 'bounced', 'bounced', 'sent', 'bounced', 'sent', 'bounced', 'sent', 'sent'], NOW, L);
    expect(cooled).toBe(false); // 4 of 9, but only 9 outcomes
    expect(applyOutcome(s, state, 'bounced', NOW, L).cooled).toBe(true); // 10th outcome
  });

  it('forgets bounces that slid out of the window', () => {
    const s = settings();
    const { state } = feed(s, initialPolicyState(), ['bounced', ...repeat('sent', 20)], NOW, L);
    expect(state.recentOutcomes.includes('bounced')).toBe(false);
    expect(applyOutcome(s, state, 'bounced', NOW, L).cooled).toBe(false); // 1 in 20
  });
});

describe('legacy ring: complaint spike', () => {
  it('one complaint in the window is above 1% and cools down for complaintCooldownHours', () => {
    const s = settings();
    const { state } = feed(s, initialPolicyState(), repeat('sent', 20), NOW, L);
    const r = applyOutcome(s, state, 'complained', NOW, L);
    expect(r).toMatchObject({ cooled: true, paused: false });
    expect(r.state.cooldownUntil).toBe(NOW + 24 * HOUR);
    expect(r.state.recentOutcomes).toEqual([]);
    expect(earliestSlot(s, r.state, NOW + HOUR)).toEqual({ at: NOW + 24 * HOUR, reason: 'cooldown' });
  });

  it('needs no minimum sample, and respects a configured threshold', () => {
    expect(applyOutcome(settings(), initialPolicyState(), 'complained', NOW, L).cooled).toBe(true);
    // Threshold 10%: 1 complaint in 20 is not enough.
    const s = settings({ complaintThreshold: 0.1 });
    const { state } = feed(s, initialPolicyState(), repeat('sent', 19), NOW, L);
    expect(applyOutcome(s, state, 'complained', NOW, L).cooled).toBe(false);
  });

  it('takes the longer cooldown when bounces and complaints spike together', () => {
    const s = settings();
    const { state } = feed(s, initialPolicyState(), [...repeat('sent', 8), 'bounced', 'bounced'], NOW, L);
    expect(state.cooldownUntil).toBe(NOW + 12 * HOUR);
    const st = { ...state, recentOutcomes: [...repeat('sent', 8).map(() => 'ok' as const), 'bounced' as const] };
    const r = applyOutcome(s, st, 'complained', NOW, L);
    expect(r.state.cooldownUntil).toBe(NOW + 24 * HOUR);
  });
});

describe("legacy ring: the rule's verdict beside the ring", () => {
  it('cools down for the given time even when the ring alone would not, and clears the ring', () => {
    const s = settings();
    const { state } = feed(s, initialPolicyState(), repeat('sent', 19), NOW, L);
    expect(applyOutcome(s, state, 'bounced', NOW, L).cooled).toBe(false); // 1 in 20: the ring says no
    const r = applyOutcome(s, state, 'bounced', NOW, { retryAfterMs: 12 * HOUR, ...L });
    expect(r).toMatchObject({ cooled: true, paused: false });
    expect(r.state.cooldownUntil).toBe(NOW + 12 * HOUR);
    expect(r.state.recentOutcomes).toEqual([]);
    expect(earliestSlot(s, r.state, NOW + HOUR)).toEqual({ at: NOW + 12 * HOUR, reason: 'cooldown' });
    expect(earliestSlot(s, r.state, NOW + 12 * HOUR).reason).toBe('ok');
  });

  it('never shortens a longer cooldown, and takes the longer of verdict and ring', () => {
    const s = settings();
    const cooling = { ...initialPolicyState(), cooldownUntil: NOW + 30 * HOUR };
    expect(applyOutcome(s, cooling, 'complained', NOW, { retryAfterMs: HOUR, ...L }).state.cooldownUntil).toBe(NOW + 30 * HOUR);
    const { state } = feed(s, initialPolicyState(), repeat('sent', 20), NOW, L);
    // A complaint spikes the ring (24 h); a 1 h verdict does not shorten it.
    expect(applyOutcome(s, state, 'complained', NOW, { retryAfterMs: HOUR, ...L }).state.cooldownUntil).toBe(NOW + 24 * HOUR);
  });

  it('ignores a zero, negative or non-finite verdict', () => {
    const s = settings();
    const { state } = feed(s, initialPolicyState(), repeat('sent', 19), NOW, L);
    for (const bad of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(applyOutcome(s, state, 'bounced', NOW, { retryAfterMs: bad, ...L }).cooled).toBe(false);
    }
  });
});

describe('sender_misconfigured, pause and resume', () => {
  it('sender_misconfigured pauses with its reason', () => {
    const r = applyOutcome(settings(), initialPolicyState(), 'sender_misconfigured', NOW);
    expect(r).toMatchObject({ cooled: false, paused: true });
    expect(r.state).toMatchObject({ paused: true, pauseReason: 'sender_misconfigured' });
    expect(earliestSlot(settings(), r.state, NOW)).toEqual({ at: null, reason: 'paused' });
  });

  it('pause blocks, resume clears the pause but keeps cooldowns and grants', () => {
    const s = settings();
    const base = { ...initialPolicyState(), cooldownUntil: NOW + HOUR, grants: [NOW - HOUR] };
    const paused = pause(base, 'operator');
    expect(paused).toMatchObject({ paused: true, pauseReason: 'operator' });
    expect(earliestSlot(s, paused, NOW)).toEqual({ at: null, reason: 'paused' });
    const resumed = resume(paused);
    expect(resumed).toMatchObject({ paused: false, pauseReason: null, cooldownUntil: NOW + HOUR, grants: [NOW - HOUR] });
    expect(earliestSlot(s, resumed, NOW)).toEqual({ at: NOW + HOUR, reason: 'cooldown' });
    expect(base.paused).toBe(false); // pure
  });

  it('does not change the input state', () => {
    const st = initialPolicyState();
    const snapshot = JSON.stringify(st);
    for (const o of ['sent', 'throttled', 'bounced', 'complained', 'sender_misconfigured', 'delivered'] as const) applyOutcome(settings(), st, o, NOW);
    expect(JSON.stringify(st)).toBe(snapshot);
  });
});

describe('resolveCooldown', () => {
  it('overrides only the defined fields', () => {
    expect(resolveCooldown({ bounceWindow: 50, bounceThreshold: undefined })).toEqual({ ...DEFAULT_COOLDOWN, bounceWindow: 50 });
    expect(resolveCooldown(undefined)).toEqual(DEFAULT_COOLDOWN);
  });
});
