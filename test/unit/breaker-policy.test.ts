import { admission, countsAsFailure, DEFAULT_BREAKER, opensAtOnce, rateExceeded } from '../../activities/providers/breaker-policy';
import { SEND_ERROR_CLASSES } from '../../activities/providers/types';

describe('circuit breaker policy', () => {
  it('opens on more than 5% failures over at least 20 attempts, never on fewer attempts', () => {
    expect(rateExceeded({ attempts: 19, failures: 19 })).toBe(false);
    expect(rateExceeded({ attempts: 20, failures: 1 })).toBe(false); // exactly 5% is not above
    expect(rateExceeded({ attempts: 20, failures: 2 })).toBe(true);
    expect(rateExceeded({ attempts: 100, failures: 5 })).toBe(false);
    expect(rateExceeded({ attempts: 100, failures: 6 })).toBe(true);
    expect(rateExceeded({ attempts: 10, failures: 1 }, { ...DEFAULT_BREAKER, minAttempts: 10 })).toBe(true);
  });

  it('counts only provider-health failures; provider-down opens at once', () => {
    const counted = SEND_ERROR_CLASSES.filter(countsAsFailure);
    expect(counted.sort()).toEqual(['ambiguous', 'provider_down', 'transient']);
    expect(SEND_ERROR_CLASSES.filter(opensAtOnce)).toEqual(['provider_down']);
  });

  it('admits sends on a closed breaker, one probe after the cool-off, and none while a probe is out', () => {
    const now = 1_000_000;
    expect(admission(undefined, now)).toBe('use');
    expect(admission({ state: 'closed', probeAt: null }, now)).toBe('use');
    expect(admission({ state: 'open', probeAt: now + 1 }, now)).toBe('skip');
    expect(admission({ state: 'open', probeAt: now }, now)).toBe('probe');
    expect(admission({ state: 'open', probeAt: null }, now)).toBe('skip');
    expect(admission({ state: 'half_open', probeAt: null }, now)).toBe('skip');
  });
});
