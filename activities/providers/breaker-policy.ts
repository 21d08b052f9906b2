import type { BreakerRow, BreakerState } from '../../core/types';
import type { SendErrorClass } from './types';

/**
 * Pure circuit-breaker rules (no I/O): when a provider account's breaker
 * opens, when it lets a probe through, which failures count, and which
 * failures move a send to the mailbox's next provider within the attempt.
 */
export interface BreakerSettings {
  /** Sliding window the failure rate is measured over. */
  windowMs: number;
  /** No rate verdict on fewer attempts than this. */
  minAttempts: number;
  /** Open when failures / attempts is strictly above this. */
  failureRate: number;
  /** An open breaker lets one probe through after this long. */
  openForMs: number;
  /**
   * How long the send holding the half-open probe owns it; after that
   * (its worker died mid-probe) another send may take the probe over.
   * Longer than an adapter's request timeout. Default 60 s.
   */
  probeLeaseMs?: number;
}

export const DEFAULT_PROBE_LEASE_MS = 60_000;

export const DEFAULT_BREAKER: BreakerSettings = {
  windowMs: 5 * 60_000,
  minAttempts: 20,
  failureRate: 0.05,
  openForMs: 30_000,
  probeLeaseMs: DEFAULT_PROBE_LEASE_MS,
};

/** When every provider of a mailbox is skipped, the soonest a retry may find one usable. */
export const MIN_UNAVAILABLE_RETRY_MS = 1_000;

export type { BreakerRow, BreakerState };

/** Failures that say something about the provider (not the recipient or the sender's setup). */
export function countsAsFailure(errorClass: SendErrorClass): boolean {
  return errorClass === 'transient' || errorClass === 'provider_down' || errorClass === 'ambiguous';
}

/** Does this outcome open a closed breaker at once (rather than through the rate)? */
export function opensAtOnce(errorClass: SendErrorClass): boolean {
  return errorClass === 'provider_down';
}

/**
 * Provider-side failures that surely did not send the message (a 5xx answer,
 * a refused or reset-before-write connection, a provider that cannot send):
 * the same attempt moves the send to the mailbox's next provider. Never an
 * ambiguous outcome (it may have been accepted) nor a verdict about the
 * recipient, the sender or the pace, which would be the same elsewhere.
 */
export function failsOverAtOnce(errorClass: SendErrorClass): boolean {
  return errorClass === 'transient' || errorClass === 'provider_down';
}

export function rateExceeded(stats: { attempts: number; failures: number }, s: BreakerSettings = DEFAULT_BREAKER): boolean {
  return stats.attempts >= s.minAttempts && stats.failures / stats.attempts > s.failureRate;
}

/**
 * What a send may do with this account now: use it, try to take the single
 * half-open probe, or skip it for the next provider in the mailbox's order.
 * While a probe is out every other send skips the account (it never waits for
 * the probe); a probe whose lease ran out (its worker died) may be taken over.
 * A half-open row without a lease (written before leases) counts as expired.
 */
export function admission(row: BreakerRow | undefined, nowMs: number): 'use' | 'probe' | 'skip' {
  if (!row || row.state === 'closed') return 'use';
  if (row.state === 'half_open') return row.probeAt === null || row.probeAt <= nowMs ? 'probe' : 'skip';
  return row.probeAt !== null && row.probeAt <= nowMs ? 'probe' : 'skip';
}

export type BreakerVerdict = { to: 'open' | 'closed'; reason: string } | null;

/**
 * After a failed call: what becomes of the account's breaker. A probe's
 * failure re-opens it, and an answer that says nothing against the provider
 * (recipient, sender, throttling) closes it. Otherwise a provider-down error
 * opens a closed breaker at once, and the other counted failures open it
 * through the rate over the window (`stats`, which the caller reads only when
 * `needsWindowStats` says so).
 */
export function verdictAfterFailure(
  f: { wasProbe: boolean; errorClass: SendErrorClass; message: string; stats?: { attempts: number; failures: number } },
  s: BreakerSettings = DEFAULT_BREAKER,
): BreakerVerdict {
  if (f.wasProbe) {
    return countsAsFailure(f.errorClass)
      ? { to: 'open', reason: `probe failed: ${f.errorClass}` }
      : { to: 'closed', reason: `probe answered (${f.errorClass})` };
  }
  if (opensAtOnce(f.errorClass)) return { to: 'open', reason: `provider down: ${f.message.slice(0, 200)}` };
  if (!countsAsFailure(f.errorClass) || !f.stats || !rateExceeded(f.stats, s)) return null;
  const rate = ((f.stats.failures / f.stats.attempts) * 100).toFixed(1);
  return { to: 'open', reason: `failure rate ${rate}% over ${f.stats.attempts} attempts` };
}

/** Whether verdictAfterFailure needs the window's attempt counts for this failure. */
export function needsWindowStats(wasProbe: boolean, errorClass: SendErrorClass): boolean {
  return !wasProbe && !opensAtOnce(errorClass) && countsAsFailure(errorClass);
}

/**
 * The retry hint when every provider of a mailbox was skipped: until the
 * soonest open breaker may be probed, or a moment for a probe in flight
 * (its answer closes or re-opens the breaker within a request), never less
 * than MIN_UNAVAILABLE_RETRY_MS.
 */
export function retryDelayWhenUnavailable(rows: (BreakerRow | undefined)[], nowMs: number, s: BreakerSettings = DEFAULT_BREAKER): number {
  let soonest: number | null = null;
  for (const row of rows) {
    if (!row || row.state === 'closed') return MIN_UNAVAILABLE_RETRY_MS; // usable: retry at once
    const wait = row.state === 'half_open' ? MIN_UNAVAILABLE_RETRY_MS : row.probeAt !== null ? row.probeAt - nowMs : s.openForMs;
    soonest = Math.min(soonest ?? wait, wait);
  }
  return Math.max(MIN_UNAVAILABLE_RETRY_MS, soonest ?? s.openForMs);
}
