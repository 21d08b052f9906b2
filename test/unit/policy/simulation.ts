/**
 * Arbitraries and a discrete-event mailbox simulation for the property tests.
 * The simulation drives the policy the way the mailbox workflow will:
 * requesters ask for the earliest slot and reserve it, sends report outcomes,
 * cooldowns give back the reservations they cover (whose requesters ask
 * again), and some campaigns pause and give back their reservation.
 */
import fc from 'fast-check';
import { applyOutcome } from '../../../workflows/policy/outcomes';
import { earliestSlot, recordGrant, releaseGrant } from '../../../workflows/policy/pacing';
import { initialPolicyState } from '../../../workflows/policy/state';
import type { MailboxPolicySettings, Outcome, PolicyState, Weekday } from '../../../workflows/policy/types';
import { DAY, oracleCap, oracleLocal, prng } from './oracle';

export const ZONES = [
  'America/New_York',
  'Europe/Berlin',
  'Australia/Sydney',
  'Asia/Kolkata',
  'UTC',
  'Pacific/Auckland',
  'Australia/Lord_Howe',
];
const ALL_DAYS: Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

const clock = (minutes: number) =>
  minutes === 1440 ? '24:00' : `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;

/**
 * A start instant whose following 60 days contain DST changes: spring
 * (2026-02-15 .. 03-02 + 60 days covers 03-08 US, 03-29 EU, 04-05 AU/NZ) or
 * autumn (2026-09-10 .. 09-25 + 60 days covers 09-27 NZ, 10-04 AU, 10-25 EU, 11-01 US).
 */
export const spanStartArb = fc
  .record({ autumn: fc.boolean(), day: fc.integer({ min: 0, max: 15 }), second: fc.integer({ min: 0, max: 86_399 }) })
  .map(({ autumn, day, second }) => Date.parse(autumn ? '2026-09-10T00:00:00Z' : '2026-02-15T00:00:00Z') + day * DAY + second * 1000);

export const windowArb = fc
  .record({
    days: fc.subarray(ALL_DAYS, { minLength: 1 }),
    start: fc.integer({ min: 0, max: 23 * 60 }),
    length: fc.integer({ min: 30, max: 1440 }),
  })
  .map(({ days, start, length }) => ({ days, start: clock(start), end: clock(Math.min(1440, start + length)) }));

export function settingsArb(spanStart: number): fc.Arbitrary<MailboxPolicySettings> {
  return fc.record({
    timezone: fc.constantFrom(...ZONES),
    window: windowArb,
    limits: fc.record({
      dailyMax: fc.integer({ min: 1, max: 100 }),
      hourlyMax: fc.integer({ min: 1, max: 20 }),
      minIntervalSeconds: fc.integer({ min: 10, max: 600 }),
      jitterRatio: fc.double({ min: 0, max: 0.5, noNaN: true }),
    }),
    warmup: fc.option(
      fc.record({
        startPerDay: fc.integer({ min: 1, max: 10 }),
        increasePerDay: fc.integer({ min: 0, max: 10 }),
        maxPerDay: fc.integer({ min: 1, max: 100 }),
        startedOn: fc.integer({ min: -10, max: 30 }).map((d) => new Date(spanStart + d * DAY).toISOString().slice(0, 10)),
      }),
      { nil: null },
    ),
  });
}

export interface SimGrant {
  at: number;
  date: string; // oracle local date
  status: 'reserved' | 'sent' | 'released';
}

export interface SimConfig {
  settings: MailboxPolicySettings;
  start: number;
  /** Bursts of requests: n requesters asking at start + second. */
  bursts: { second: number; n: number }[];
  /** Plus one requester every this many minutes over `days` (steady demand), or none. */
  steadyMinutes: number | null;
  days: number;
  seed: number;
  pThrottle: number;
  pBounce: number;
  pComplaint: number;
  pRelease: number;
  /** A requester offered a slot further ahead than this gives up (keeps backlogs bounded). */
  patienceMs: number;
}

export interface SimResult {
  grants: SimGrant[]; // every grant ever made; status says what became of it
  cooldowns: { from: number; until: number }[];
  problems: string[]; // violations noticed while running
  requests: number;
  capBlocks: number;
}

type SimEventInput = { time: number; kind: 'request' } | { time: number; kind: 'send' | 'release'; grant: SimGrant };
type SimEvent = SimEventInput & { seq: number };

/** Binary min-heap on (time, seq). */
class Queue {
  private items: SimEvent[] = [];
  private seq = 0;
  get size() {
    return this.items.length;
  }
  push(e: SimEventInput): void {
    const item: SimEvent = { ...e, seq: this.seq++ };
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(a[i], a[p])) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }
  pop(): SimEvent {
    const a = this.items;
    const top = a[0];
    const last = a.pop() as SimEvent;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && less(a[l], a[m])) m = l;
        if (r < a.length && less(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}
const less = (x: SimEvent, y: SimEvent) => x.time < y.time || (x.time === y.time && x.seq < y.seq);

export function simulate(cfg: SimConfig): SimResult {
  const { settings } = cfg;
  const rng = prng(cfg.seed);
  const queue = new Queue();
  for (const b of cfg.bursts) for (let i = 0; i < b.n; i++) queue.push({ time: cfg.start + b.second * 1000, kind: 'request' });
  if (cfg.steadyMinutes !== null) {
    for (let t = cfg.start; t < cfg.start + cfg.days * DAY; t += cfg.steadyMinutes * 60_000) queue.push({ time: t, kind: 'request' });
  }
  const result: SimResult = { grants: [], cooldowns: [], problems: [], requests: 0, capBlocks: 0 };
  const activePerDate = new Map<string, number>();
  const bump = (date: string, by: number) => activePerDate.set(date, (activePerDate.get(date) ?? 0) + by);
  let state: PolicyState = initialPolicyState();
  let steps = 0;

  while (queue.size > 0 && steps++ < 100_000) {
    const ev = queue.pop();
    const now = ev.time;
    if (ev.kind === 'request') {
      result.requests++;
      const { at, reason } = earliestSlot(settings, state, now);
      if (at === null) {
        result.problems.push(`no slot at ${new Date(now).toISOString()} (${reason})`);
        continue;
      }
      if (at < now || (at === now) !== (reason === 'ok')) result.problems.push(`bad decision ${at} ${reason} at ${now}`);
      if (reason === 'daily_cap' || reason === 'warmup_cap') {
        // An honest cap verdict: today's active grants are exactly the cap.
        result.capBlocks++;
        const today = oracleLocal(now, settings.timezone).date;
        const count = activePerDate.get(today) ?? 0;
        if (count !== oracleCap(settings, today)) result.problems.push(`${reason} at ${today} with ${count} of ${oracleCap(settings, today)}`);
        if ((reason === 'warmup_cap') !== (settings.warmup !== null && oracleCap(settings, today) < settings.limits.dailyMax)) {
          result.problems.push(`wrong cap reason ${reason} on ${today}`);
        }
      }
      if (at - now > cfg.patienceMs) continue; // gives up; demand exceeded capacity
      state = recordGrant(settings, state, at, rng());
      const grant: SimGrant = { at, date: oracleLocal(at, settings.timezone).date, status: 'reserved' };
      result.grants.push(grant);
      bump(grant.date, 1);
      if (at > now && rng() < cfg.pRelease) queue.push({ time: now + Math.floor(rng() * (at - now)), kind: 'release', grant });
      else queue.push({ time: at, kind: 'send', grant });
    } else if (ev.kind === 'release') {
      if (ev.grant.status !== 'reserved') continue;
      state = releaseGrant(state, ev.grant.at);
      ev.grant.status = 'released';
      bump(ev.grant.date, -1);
    } else {
      if (ev.grant.status !== 'reserved') continue;
      ev.grant.status = 'sent';
      const u = rng();
      const outcome: Outcome =
        u < cfg.pThrottle ? 'throttled' : u < cfg.pThrottle + cfg.pBounce ? 'bounced' : u < cfg.pThrottle + cfg.pBounce + cfg.pComplaint ? 'complained' : 'sent';
      const r = applyOutcome(settings, state, outcome, now);
      state = r.state;
      if (r.cooled) {
        result.cooldowns.push({ from: now, until: state.cooldownUntil as number });
        // Reservations inside the cooldown are given back, latest first; their requesters ask again.
        const covered = result.grants.filter((g) => g.status === 'reserved' && g.at > now).sort((a, b) => b.at - a.at);
        for (const g of covered) {
          state = releaseGrant(state, g.at);
          g.status = 'released';
          bump(g.date, -1);
          queue.push({ time: now, kind: 'request' });
        }
      }
    }
  }
  if (queue.size > 0) result.problems.push('simulation did not finish');
  return result;
}

