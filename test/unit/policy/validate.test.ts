import { DEFAULT_LIMITS, DEFAULT_WARMUP_RAMP, DEFAULT_WINDOW } from '../../../workflows/policy/defaults';
import { validatePolicySettings } from '../../../workflows/policy/validate';
import type { MailboxPolicySettings } from '../../../workflows/policy/types';

const valid: MailboxPolicySettings = {
  timezone: 'Europe/Berlin',
  window: DEFAULT_WINDOW,
  limits: DEFAULT_LIMITS,
  warmup: { ...DEFAULT_WARMUP_RAMP, startedOn: '2026-03-01' },
};

describe('validatePolicySettings', () => {
  it('accepts the defaults', () => {
    expect(validatePolicySettings(valid)).toEqual([]);
    expect(validatePolicySettings({ ...valid, warmup: null, cooldown: { bounceWindow: 50 } })).toEqual([]);
  });

  it('names each bad field', () => {
    const errors = validatePolicySettings({
      timezone: 'Mars/Base',
      window: { days: ['mon'], start: '18:00', end: '09:00' },
      limits: { dailyMax: -1, hourlyMax: 0, minIntervalSeconds: Number.NaN, jitterRatio: 2 },
      warmup: { startPerDay: 1.5, increasePerDay: -1, maxPerDay: 0, startedOn: '01/03/2026' },
      cooldown: { bounceWindow: 10, bounceMinSample: 20, bounceThreshold: 5, throttleBaseSeconds: -1 },
    });
    expect(errors.map((e) => e.split(':')[0])).toEqual([
      'timezone',
      'window.end',
      'limits.dailyMax',
      'limits.hourlyMax',
      'limits.minIntervalSeconds',
      'limits.jitterRatio',
      'warmup.startPerDay',
      'warmup.increasePerDay',
      'warmup.maxPerDay',
      'warmup.startedOn',
      'cooldown.throttleBaseSeconds',
      'cooldown.bounceMinSample',
      'cooldown.bounceThreshold',
    ]);
  });
});
