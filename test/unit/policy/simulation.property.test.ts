/**
 * Property tests: the policy driven over simulated weeks with random
 * settings, zones, demand and outcomes, checked by the independent oracle.
 */
import fc from 'fast-check';
import { applyOutcome } from '../../../workflows/policy/outcomes';
import { earliestSlot, recordGrant, releaseGrant } from '../../../workflows/policy/pacing';
import { initialPolicyState } from '../../../workflows/policy/state';
import type { MailboxPolicySettings, PolicyState } from '../../../workflows/policy/types';
import { DAY, HOUR, maxInAnyHour, oracleAllowed, oracleCap, oracleInWindow, oracleLocal, oracleState, prng } from './oracle';
import { settingsArb, simulate, spanStartArb, ZONES } from './simulation';

const SPAN_DAYS = 60;

describe('60 simulated days with random settings, demand and outcomes', () => {
  it('never breaks a cap, the window, the interval or a cooldown; cap verdicts are exact', () => {
    const configArb = spanStartArb.chain((start) =>
      fc.record({
        start: fc.constant(start),
        settings: settingsArb(start),
        bursts: fc.array(fc.record({ second: fc.integer({ min: 0, max: SPAN_DAYS * 86_400 - 1 }), n: fc.integer({ min: 1, max: 60 }) }), {
          maxLength: 80,
        }),
        steadyMinutes: fc.option(fc.integer({ min: 30, max: 240 }), { nil: null }),
        days: fc.constant(SPAN_DAYS),
        seed: fc.integer(),
        pThrottle: fc.constantFrom(0, 0.01, 0.04),
        pBounce: fc.constantFrom(0, 0.02, 0.08),
        pComplaint: fc.constantFrom(0, 0.005),
        pRelease: fc.constantFrom(0, 0.05, 0.2),
        patienceMs: fc.constantFrom(2 * DAY, 4 * DAY),
      }),
    );
    fc.assert(
      fc.property(configArb, (cfg) => {
        const { settings } = cfg;
        const run = simulate(cfg);
        expect(run.problems).toEqual([]);

        const kept = run.grants.filter((g) => g.status !== 'released').sort((a, b) => a.at - b.at);
        const times = kept.map((g) => g.at);
        // Daily cap of every local day, by the formula.
        const perDate = new Map<string, number>();
        for (const g of kept) perDate.set(g.date, (perDate.get(g.date) ?? 0) + 1);
        const overCap = [...perDate].filter(([date, count]) => count > oracleCap(settings, date));
        expect(overCap).toEqual([]);
        // Hourly cap over every 60-minute window.
        expect(maxInAnyHour(times)).toBeLessThanOrEqual(settings.limits.hourlyMax);
        // Minimum interval between any two grants.
        for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(settings.limits.minIntervalSeconds * 1000);
        // Inside the window.
        for (const t of times) expect(oracleInWindow(settings, t) ? 'inside' : new Date(t).toISOString()).toBe('inside');
        // Never during a cooldown (the send that caused it is at its start).
        for (const c of run.cooldowns) expect(times.filter((t) => t > c.from && t < c.until)).toEqual([]);
      }),
      { numRuns: 25 },
    );
  });
});

describe('continuous demand over 30 days', () => {
  it('grants exactly dailyCap(day) on every local day: warm-up ramp and dailyMax by the formula', () => {
    const arb = spanStartArb.chain((start) =>
      fc.record({
        start: fc.constant(start),
        timezone: fc.constantFrom(...ZONES),
        dailyMax: fc.integer({ min: 1, max: 100 }),
        warmup: fc.option(
          fc.record({
            startPerDay: fc.integer({ min: 1, max: 10 }),
            increasePerDay: fc.integer({ min: 0, max: 8 }),
            maxPerDay: fc.integer({ min: 1, max: 100 }),
            startedOn: fc.integer({ min: -5, max: 10 }).map((d) => new Date(start + d * DAY).toISOString().slice(0, 10)),
          }),
          { nil: null },
        ),
        seed: fc.integer(),
      }),
    );
    fc.assert(
      fc.property(arb, ({ start, timezone, dailyMax, warmup, seed }) => {
        const settings: MailboxPolicySettings = {
          timezone,
          window: { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '00:00', end: '23:59' },
          limits: { dailyMax, hourlyMax: 20, minIntervalSeconds: 10, jitterRatio: 0.3 },
          warmup,
        };
        const rng = prng(seed);
        let state: PolicyState = initialPolicyState();
        let now = start;
        const perDate = new Map<string, number>();
        while (now < start + 31 * DAY) {
          const { at } = earliestSlot(settings, state, now);
          if (at === null) throw new Error('no slot');
          state = recordGrant(settings, state, at, rng());
          state = applyOutcome(settings, state, 'sent', at).state;
          const date = oracleLocal(at, timezone).date;
          perDate.set(date, (perDate.get(date) ?? 0) + 1);
          now = at; // the requester asks again right away
        }
        const dates = [...perDate.keys()].sort();
        // The first and last dates are partial; every day between them must be exactly at its cap.
        const full = dates.slice(1, -1);
        expect(full.length).toBeGreaterThanOrEqual(28);
        const got = full.map((d) => `${d}:${perDate.get(d)}`);
        const want = full.map((d) => `${d}:${oracleCap(settings, d)}`);
        expect(got).toEqual(want);
      }),
      { numRuns: 15 },
    );
  });
});

describe('earliestSlot is the earliest allowed instant', () => {
  it('agrees with a brute-force scan of the independent rules, future reservations and releases included', () => {
    const arb = spanStartArb.chain((start) =>
      fc.record({
        start: fc.constant(start),
        settings: settingsArb(start),
        history: fc.array(fc.integer({ min: 0, max: 2 * 86_400 }), { maxLength: 40 }),
        releases: fc.array(fc.nat(), { maxLength: 8 }),
        throttleAt: fc.option(fc.integer({ min: 0, max: 2 * 86_400 }), { nil: null }),
        nowOffset: fc.integer({ min: 0, max: 2 * 86_400 }),
        seed: fc.integer(),
      }),
    );
    fc.assert(
      fc.property(arb, ({ start, settings, history, releases, throttleAt, nowOffset, seed }) => {
        const rng = prng(seed);
        let state: PolicyState = initialPolicyState();
        for (const offset of [...history].sort((a, b) => a - b)) {
          const { at } = earliestSlot(settings, state, start + offset * 1000);
          if (at !== null && at < start + 4 * DAY) state = recordGrant(settings, state, at, rng());
        }
        for (const pick of releases) {
          if (state.grants.length > 0) state = releaseGrant(state, state.grants[pick % state.grants.length]);
        }
        if (throttleAt !== null) state = applyOutcome(settings, state, 'throttled', start + throttleAt * 1000).state;
        const now = start + nowOffset * 1000;
        const { at, reason } = earliestSlot(settings, state, now);
        expect(at).not.toBeNull();
        const oracle = oracleState(settings, state);
        const slot = at as number;
        expect(oracleAllowed(settings, oracle, slot)).toBe(true);
        expect(reason === 'ok').toBe(slot === now);

        // Every instant where an allowed stretch can begin, up to the slot (two days at most).
        const end = Math.min(slot, now + 2 * DAY);
        const probes = new Set<number>([now]);
        for (let t = Math.ceil(now / 60_000) * 60_000; t < end; t += 60_000) probes.add(t);
        const interval = settings.limits.minIntervalSeconds * 1000;
        for (const g of state.grants) for (const t of [g + interval, g + HOUR, g - interval]) probes.add(t);
        for (const t of [state.cooldownUntil, state.nextEarliestAt]) if (t !== null) probes.add(t);
        const earlier = [...probes].filter((t) => t >= now && t < end && oracleAllowed(settings, oracle, t));
        expect(earlier.map((t) => new Date(t).toISOString())).toEqual([]);
      }),
      { numRuns: 40 },
    );
  });
});
