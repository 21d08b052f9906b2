/**
 * Mailbox sending policy: pure functions deciding when a sender mailbox may
 * send next (window, warm-up, caps, pacing, cooldowns). No Temporal imports,
 * no clock, no randomness: time and random numbers are parameters.
 *
 * How the mailbox workflow uses it:
 * - A slot request: `earliestSlot(settings, state, now)`, then
 *   `recordGrant(settings, state, at, random())` with that `at` (it throws if
 *   `at` is not allowed on this state). `at` may be in the future: a
 *   reservation. at === null means paused, or settings that can never send.
 *   A request bound by another window too (a campaign's, in its own zone)
 *   passes it as the last argument of both (`WindowConstraint`);
 *   `windowsCanOverlap` says whether two windows ever share an instant.
 * - A reservation that will not be used: `releaseGrant(state, at)`.
 * - Every send result: `applyOutcome(settings, state, outcome, now)`; it also
 *   prunes old grants. Call `pruneGrants(settings, state, now)` before
 *   continue-as-new if no outcome came in for a while.
 * - `validatePolicySettings` at the API / loading boundary: the functions
 *   above throw a RangeError on an invalid window, zone or warm-up date.
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
export { isInsideWindow, nextWindowOpening, parseClock, windowErrors } from './window';
export { firstCommonInstant, OVERLAP_SPAN_MS, windowsCanOverlap } from './window-overlap';
export { dailyCap, warmupCap, warmupDay } from './warmup';
export { countSentThisHour, countSentToday, pruneGrants } from './grants';
export { checkSlot } from './slot-check';
export { earliestSlot, recordGrant, releaseGrant, SLOT_LOOKAHEAD_MS } from './pacing';
export { applyOutcome, SENDER_MISCONFIGURED } from './outcomes';
export { initialPolicyState, pause, resume } from './state';
export { addPause, adoptPauses, legacyPauseKind, mayResume, PAUSE_KINDS, removePause, type PauseActor } from './pauses';
export { validatePolicySettings } from './validate';
export { spreadCounts } from './spread';
export { rotationDueOn } from './rotation';
