import type { SendErrorClass } from './types';

/**
 * Pure circuit-breaker rules (no I/O): when a provider account's breaker
 * opens, when it lets a probe through, which failures count.
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
}

export const DEFAULT_BREAKER: BreakerSettings = {
  windowMs: 5 * 60_000,
  minAttempts: 20,
  failureRate: 0.05,
  openForMs: 30_000,
};

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerRow {
  state: BreakerState;
  probeAt: number | null;
}

/** Failures that say something about the provider (not the recipient or the sender's setup). */
export function countsAsFailure(errorClass: SendErrorClass): boolean {
  return errorClass === 'transient' || errorClass === 'provider_down' || errorClass === 'ambiguous';
}

/** Does this outcome open a closed breaker at once (rather than through the rate)? */
export function opensAtOnce(errorClass: SendErrorClass): boolean {
  return errorClass === 'provider_down';
}

export function rateExceeded(stats: { attempts: number; failures: number }, s: BreakerSettings = DEFAULT_BREAKER): boolean {
  return stats.attempts >= s.minAttempts && stats.failures / stats.attempts > s.failureRate;
}

/**
 * What a send may do with this account now: use it, try to take the single
 * half-open probe, or skip it for the next provider in the mailbox's order.
 */
export function admission(row: BreakerRow | undefined, nowMs: number): 'use' | 'probe' | 'skip' {
  if (!row || row.state === 'closed') return 'use';
  if (row.state === 'half_open') return 'skip'; // someone else holds the probe
  return row.probeAt !== null && row.probeAt <= nowMs ? 'probe' : 'skip';
}
