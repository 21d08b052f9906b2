/**
 * Mailbox sending policy: pure functions deciding when a sender mailbox may
 * send next (window, warm-up, caps, pacing, cooldowns). No Temporal imports,
 * no clock, no randomness: time and random numbers are parameters.
 */
export * from './types';
export { DEFAULT_COOLDOWN, DEFAULT_LIMITS, DEFAULT_WARMUP_RAMP, DEFAULT_WINDOW, resolveCooldown } from './defaults';
export {
  DAY_MS,
  HOUR_MS,
  MINUTE_MS,
  localDateTime,
  localDayBounds,
  localTimeToEpoch,
  validateTimezone,
  type LocalDate,
  type LocalDateTime,
} from './time-zone';
export { isInsideWindow, nextWindowOpening, parseClock } from './window';
export { dailyCap, warmupCap, warmupDay } from './warmup';
export { countSentThisHour, countSentToday, pruneGrants } from './grants';
export { checkSlot } from './slot-check';
export { earliestSlot, recordGrant, releaseGrant, SLOT_LOOKAHEAD_MS } from './pacing';
export { applyOutcome, SENDER_MISCONFIGURED } from './outcomes';
export { initialPolicyState, pause, resume } from './state';
export { validatePolicySettings } from './validate';
