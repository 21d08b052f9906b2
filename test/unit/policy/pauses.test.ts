import { DEFAULT_WINDOW } from '../../../workflows/policy/defaults';
import { applyOutcome } from '../../../workflows/policy/outcomes';
import { earliestSlot } from '../../../workflows/policy/pacing';
import {
  addPause,
  adoptPauses,
  legacyPauseKind,
  mayResume,
  PAUSE_KINDS,
  removePause,
  SENDER_MISCONFIGURED,
  type PauseActor,
} from '../../../workflows/policy/pauses';
import { initialPolicyState, pause } from '../../../workflows/policy/state';
import type { MailboxPolicySettings, PauseKind, PolicyState } from '../../../workflows/policy/types';

const NOW = Date.parse('2026-03-04T12:00:00Z');
const settings: MailboxPolicySettings = {
  timezone: 'UTC',
  window: { ...DEFAULT_WINDOW, days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '00:00', end: '24:00' },
  limits: { dailyMax: 50, hourlyMax: 10, minIntervalSeconds: 60, jitterRatio: 0 },
  warmup: null,
};
/** A state since pause reasons: the set present, empty. */
const fresh = (): PolicyState => adoptPauses(initialPolicyState(), NOW);
const entry = (kind: PauseKind, reason = `${kind} reason`, since = NOW, until: number | null = null) => ({ kind, reason, since, until });

describe('pause reasons', () => {
  it('a fresh state has an empty set and sends', () => {
    const s = fresh();
    expect(s.pauses).toEqual([]);
    expect(s.paused).toBe(false);
    expect(earliestSlot(settings, s, NOW).at).toBe(NOW);
  });

  it.each(PAUSE_KINDS)('one %s reason stops every slot, and taking it away sends again', (kind) => {
    const paused = addPause(fresh(), entry(kind));
    expect(paused.paused).toBe(true);
    expect(paused.pauseReason).toBe(`${kind} reason`);
    expect(earliestSlot(settings, paused, NOW)).toEqual({ at: null, reason: 'paused' });
    const back = removePause(paused, kind);
    expect(back.pauses).toEqual([]);
    expect(back.paused).toBe(false);
    expect(earliestSlot(settings, back, NOW).at).toBe(NOW);
  });

  it('a resume takes one reason away and the mailbox sends only when the set is empty', () => {
    let s = addPause(fresh(), entry('user'));
    s = addPause(s, entry('dns', 'its sending domain failed its DNS check', NOW + 1000));
    s = removePause(s, 'user');
    expect(s.pauses).toEqual([entry('dns', 'its sending domain failed its DNS check', NOW + 1000)]);
    expect(s.paused).toBe(true);
    expect(s.pauseReason).toBe('its sending domain failed its DNS check');
    s = removePause(s, 'dns');
    expect(s.paused).toBe(false);
    expect(s.pauseReason).toBeNull();
  });

  it('a rest ending leaves the hand pause in place', () => {
    let s = addPause(fresh(), entry('user', 'paused by its owner'));
    s = addPause(s, entry('rest', 'bounce rate', NOW, NOW + 3_600_000));
    s = removePause(s, 'rest');
    expect(s.pauses).toEqual([entry('user', 'paused by its owner')]);
    expect(s.paused).toBe(true);
  });

  it('taking away a reason the set does not hold changes nothing', () => {
    const s = addPause(fresh(), entry('dns'));
    expect(removePause(s, 'user').pauses).toEqual(s.pauses);
    expect(removePause(s, 'user').paused).toBe(true);
  });

  it('the same kind again refreshes its reason and until, and keeps its first since', () => {
    let s = addPause(fresh(), entry('rest', 'first', NOW, NOW + 1000));
    s = addPause(s, entry('rest', 'second', NOW + 500, NOW + 9000));
    expect(s.pauses).toEqual([entry('rest', 'second', NOW, NOW + 9000)]);
  });

  it('reasons keep the order they came in', () => {
    let s = fresh();
    for (const k of ['dns', 'user', 'rest'] as const) s = addPause(s, entry(k));
    expect(s.pauses!.map((p) => p.kind)).toEqual(['dns', 'user', 'rest']);
    expect(s.pauseReason).toBe('dns reason');
  });

  it('keeps counters, cooldowns and grants through pause and resume', () => {
    const base: PolicyState = { ...fresh(), grants: [NOW - 1000, NOW - 500], cooldownUntil: NOW + 60_000, throttleStreak: 2 };
    const s = removePause(addPause(base, entry('user')), 'user');
    expect(s.grants).toEqual(base.grants);
    expect(s.cooldownUntil).toBe(base.cooldownUntil);
    expect(s.throttleStreak).toBe(2);
  });

  it('never changes the state it was given', () => {
    const s = addPause(fresh(), entry('user'));
    const copy = JSON.parse(JSON.stringify(s));
    addPause(s, entry('dns'));
    removePause(s, 'user');
    expect(s).toEqual(copy);
  });

  describe('who may take which reason away', () => {
    const table: [PauseKind, PauseActor, boolean][] = [
      ['user', 'client', true], ['user', 'operator', true], ['user', 'system', true],
      ['misconfigured', 'client', true], ['misconfigured', 'operator', true], ['misconfigured', 'system', true],
      ['rest', 'client', false], ['rest', 'operator', true], ['rest', 'system', true],
      ['dns', 'client', false], ['dns', 'operator', false], ['dns', 'system', true],
      ['domain', 'client', false], ['domain', 'operator', false], ['domain', 'system', true],
    ];
    it('covers every kind and actor', () => expect(table).toHaveLength(PAUSE_KINDS.length * 3));
    it.each(table)('%s by %s: %s', (kind, actor, allowed) => expect(mayResume(kind, actor)).toBe(allowed));
  });

  describe('a provider refusing the sender', () => {
    it('adds the misconfigured reason, beside any other', () => {
      const s = addPause(fresh(), entry('user'));
      const r = applyOutcome(settings, s, 'sender_misconfigured', NOW);
      expect(r.paused).toBe(true);
      expect(r.state.pauses!.map((p) => p.kind)).toEqual(['user', 'misconfigured']);
      expect(r.state.pauses![1]).toEqual(entry('misconfigured', SENDER_MISCONFIGURED));
    });

    it('pauses a state from before pause reasons the old way', () => {
      const r = applyOutcome(settings, initialPolicyState(), 'sender_misconfigured', NOW);
      expect(r.state.pauses).toBeUndefined();
      expect(r.state.paused).toBe(true);
      expect(r.state.pauseReason).toBe(SENDER_MISCONFIGURED);
    });
  });

  describe('states from before pause reasons', () => {
    it.each([
      [null, 'user'],
      ['paused through the API', 'user'],
      ['paused by user', 'user'],
      [SENDER_MISCONFIGURED, 'misconfigured'],
      ['rest: its sending domain failed its DNS check', 'dns'],
      ['rest: its sending domain is out of rotation', 'domain'],
      ['rest: its sending domain was verified by another owner', 'domain'],
      ['rest: bounce rate 4.00% over 120 sends', 'rest'],
    ] as [string | null, PauseKind][])('a pause with reason %p is a %s reason', (reason, kind) => {
      expect(legacyPauseKind(reason)).toBe(kind);
      const adopted = adoptPauses(pause(initialPolicyState(), reason ?? 'x'), NOW);
      if (reason !== null) expect(adopted.pauses).toEqual([{ kind, reason, since: NOW, until: null }]);
      expect(adopted.paused).toBe(true);
    });

    it('an unpaused one gets an empty set', () => {
      expect(adoptPauses(initialPolicyState(), NOW).pauses).toEqual([]);
    });

    it('a state that has its set is kept as it is', () => {
      const s = addPause(fresh(), entry('dns'));
      expect(adoptPauses(s, NOW + 99)).toBe(s);
    });

    it('addPause on one pauses it the old way (no set appears)', () => {
      const s = addPause(initialPolicyState(), entry('user', 'by hand'));
      expect(s.pauses).toBeUndefined();
      expect(s.paused).toBe(true);
      expect(s.pauseReason).toBe('by hand');
    });
  });
});
