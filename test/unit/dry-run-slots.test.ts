import { shadowState, simulateGrant } from '../../activities/dry-run-slots';
import { batchSlotId } from '../../workflows/messages/mailbox';
import type { MailboxLimits, MailboxPolicySettings } from '../../workflows/policy/types';

const WED_NOON = Date.parse('2026-03-04T12:00:00Z');
const MIN = 60_000;
const live = { paused: false, cooldownUntil: null };

function settings(over: Partial<MailboxLimits> = {}): MailboxPolicySettings {
  return {
    timezone: 'UTC',
    window: { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' },
    limits: { dailyMax: 50, hourlyMax: 10, minIntervalSeconds: 120, jitterRatio: 0, ...over },
    warmup: null,
  };
}
const req = { requestId: 'r1', count: 5, withinMs: 5_000, horizonMs: 5 * MIN };

describe("a dry run's reservations: the mailbox's own policy over a shadow of its state", () => {
  it('paces as the mailbox would: one slot now, and after it is recorded the next one a minimum interval later', () => {
    const s = settings();
    const first = simulateGrant(s, shadowState(s, [], live), req, WED_NOON);
    expect(first).toEqual({ granted: true, at: WED_NOON, requestId: 'r1', slots: [{ requestId: batchSlotId('r1', 0), at: WED_NOON }] });
    const next = simulateGrant(s, shadowState(s, [WED_NOON], live), { ...req, requestId: 'r2' }, WED_NOON + 1_000);
    expect(next).toMatchObject({ granted: true, at: WED_NOON + 2 * MIN });
  });

  it('an unpaced mailbox grants a batch', () => {
    const s = settings({ minIntervalSeconds: 0 });
    const a = simulateGrant(s, shadowState(s, [], live), req, WED_NOON);
    expect(a.granted && a.slots).toHaveLength(5);
  });

  it('keeps the caps: at the daily cap it grants nothing and names the cap', () => {
    const s = settings({ dailyMax: 3, minIntervalSeconds: 0 });
    const a = simulateGrant(s, shadowState(s, [WED_NOON - 3 * MIN, WED_NOON - 2 * MIN, WED_NOON - MIN], live), req, WED_NOON);
    expect(a).toMatchObject({ granted: false, reason: 'beyond_horizon', blockedBy: 'daily_cap' });
  });

  it('keeps the window: outside it the answer is the window\'s next opening', () => {
    const s = settings({ minIntervalSeconds: 0 });
    const evening = Date.parse('2026-03-04T18:00:00Z');
    const a = simulateGrant(s, shadowState(s, [], live), { ...req, horizonMs: 24 * 60 * MIN }, evening);
    expect(a).toMatchObject({ granted: true, at: Date.parse('2026-03-05T09:00:00Z') });
  });

  it('a paused or cooling mailbox (its live state) grants nothing until it may send', () => {
    const s = settings();
    expect(simulateGrant(s, shadowState(s, [], { paused: true, cooldownUntil: null }), req, WED_NOON)).toMatchObject({ granted: false, retryAt: null, reason: 'paused' });
    const cooled = simulateGrant(s, shadowState(s, [], { paused: false, cooldownUntil: WED_NOON + 10 * MIN }), req, WED_NOON);
    expect(cooled).toMatchObject({ granted: false, reason: 'beyond_horizon', blockedBy: 'cooldown' });
  });
});
