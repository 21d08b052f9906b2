import {
  admission,
  countsAsFailure,
  DEFAULT_BREAKER,
  failsOverAtOnce,
  MIN_UNAVAILABLE_RETRY_MS,
  needsWindowStats,
  opensAtOnce,
  rateExceeded,
  retryDelayWhenUnavailable,
  verdictAfterFailure,
} from '../../activities/providers/breaker-policy';
import { SEND_ERROR_CLASSES } from '../../activities/providers/types';

describe('circuit breaker policy', () => {
  const now = 1_000_000;

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

  it('moves a send to the next provider in the same attempt only on provider-side failures, never on an ambiguous outcome', () => {
    expect(SEND_ERROR_CLASSES.filter(failsOverAtOnce).sort()).toEqual(['provider_down', 'transient']);
    expect(failsOverAtOnce('ambiguous')).toBe(false);
    expect(failsOverAtOnce('throttled')).toBe(false);
    expect(failsOverAtOnce('recipient_permanent')).toBe(false);
    expect(failsOverAtOnce('sender_misconfigured')).toBe(false);
  });

  it('admits sends on a closed breaker, one probe after the cool-off, and skips the account while a probe is out', () => {
    expect(admission(undefined, now)).toBe('use');
    expect(admission({ state: 'closed', probeAt: null }, now)).toBe('use');
    expect(admission({ state: 'open', probeAt: now + 1 }, now)).toBe('skip');
    expect(admission({ state: 'open', probeAt: now }, now)).toBe('probe');
    expect(admission({ state: 'open', probeAt: null }, now)).toBe('skip');
    // A probe in flight: everyone else skips (goes to the next provider), nobody waits.
    expect(admission({ state: 'half_open', probeAt: now + 1 }, now)).toBe('skip');
    // Its lease ran out (the worker holding it died): the probe may be taken over.
    expect(admission({ state: 'half_open', probeAt: now }, now)).toBe('probe');
    // Written before leases existed: no lease, so it counts as expired rather than holding the account forever.
    expect(admission({ state: 'half_open', probeAt: null }, now)).toBe('probe');
  });

  it('after a probe fails on the provider, the breaker re-opens; an answer about anything else closes it', () => {
    for (const errorClass of ['transient', 'provider_down', 'ambiguous'] as const) {
      expect(verdictAfterFailure({ wasProbe: true, errorClass, message: 'x' })).toEqual({ to: 'open', reason: `probe failed: ${errorClass}` });
      expect(needsWindowStats(true, errorClass)).toBe(false);
    }
    for (const errorClass of ['throttled', 'recipient_permanent', 'sender_misconfigured'] as const) {
      expect(verdictAfterFailure({ wasProbe: true, errorClass, message: 'x' })).toEqual({ to: 'closed', reason: `probe answered (${errorClass})` });
    }
  });

  it('on a closed breaker: provider-down opens at once, counted failures open through the rate, the rest change nothing', () => {
    expect(needsWindowStats(false, 'provider_down')).toBe(false);
    expect(verdictAfterFailure({ wasProbe: false, errorClass: 'provider_down', message: 'ses: connect ECONNREFUSED' })).toEqual({
      to: 'open',
      reason: 'provider down: ses: connect ECONNREFUSED',
    });
    expect(verdictAfterFailure({ wasProbe: false, errorClass: 'provider_down', message: 'x'.repeat(500) })!.reason).toHaveLength('provider down: '.length + 200);

    expect(needsWindowStats(false, 'transient')).toBe(true);
    expect(needsWindowStats(false, 'ambiguous')).toBe(true);
    expect(verdictAfterFailure({ wasProbe: false, errorClass: 'transient', message: '503', stats: { attempts: 21, failures: 2 } })).toEqual({
      to: 'open',
      reason: 'failure rate 9.5% over 21 attempts',
    });
    expect(verdictAfterFailure({ wasProbe: false, errorClass: 'ambiguous', message: 'reset', stats: { attempts: 20, failures: 20 } })?.to).toBe('open');
    expect(verdictAfterFailure({ wasProbe: false, errorClass: 'transient', message: '503', stats: { attempts: 20, failures: 1 } })).toBeNull();
    expect(verdictAfterFailure({ wasProbe: false, errorClass: 'transient', message: '503' })).toBeNull(); // no counts read: no verdict

    for (const errorClass of ['throttled', 'recipient_permanent', 'sender_misconfigured'] as const) {
      expect(needsWindowStats(false, errorClass)).toBe(false);
      expect(verdictAfterFailure({ wasProbe: false, errorClass, message: 'x', stats: { attempts: 100, failures: 100 } })).toBeNull();
    }
    // Settings are honoured.
    const strict = { ...DEFAULT_BREAKER, minAttempts: 2, failureRate: 0.4 };
    expect(verdictAfterFailure({ wasProbe: false, errorClass: 'transient', message: '503', stats: { attempts: 2, failures: 1 } }, strict)?.to).toBe('open');
  });

  it('when every provider is skipped, retries when the soonest open breaker may be probed, soon for a probe in flight, never sooner than 1 s', () => {
    const s = { ...DEFAULT_BREAKER, openForMs: 30_000 };
    expect(retryDelayWhenUnavailable([{ state: 'open', probeAt: now + 7_000 }, { state: 'open', probeAt: now + 3_000 }], now, s)).toBe(3_000);
    // The probe's answer comes within a request: not the 30 s open period.
    expect(retryDelayWhenUnavailable([{ state: 'open', probeAt: now + 20_000 }, { state: 'half_open', probeAt: now + 60_000 }], now, s)).toBe(MIN_UNAVAILABLE_RETRY_MS);
    expect(retryDelayWhenUnavailable([{ state: 'open', probeAt: now - 5 }], now, s)).toBe(MIN_UNAVAILABLE_RETRY_MS);
    expect(retryDelayWhenUnavailable([{ state: 'open', probeAt: null }], now, s)).toBe(30_000);
    expect(retryDelayWhenUnavailable([], now, s)).toBe(30_000);
    // A usable account (closed, or no row yet) in the list: retry at once.
    expect(retryDelayWhenUnavailable([{ state: 'open', probeAt: now + 9_000 }, undefined], now, s)).toBe(MIN_UNAVAILABLE_RETRY_MS);
    expect(retryDelayWhenUnavailable([{ state: 'closed', probeAt: null }], now, s)).toBe(MIN_UNAVAILABLE_RETRY_MS);
  });
});
