/**
 * When the inbox watcher continues as new, pure. Each session costs the
 * watcher's history a handful of events (its activity's schedule, start and
 * completion, and a workflow task); nothing accrues while a session idles.
 */

/** Sessions per run by default: two days of hourly sessions, a few hundred events. */
export const IMAP_SESSIONS_PER_RUN = 48;
/** Continue as new past this many events whatever the session count (a run of short sessions). */
export const IMAP_MAX_EVENTS_PER_RUN = 2_000;

export function imapWatcherShouldContinue(s: {
  sessionsThisRun: number;
  sessionsPerRun: number;
  historyLength: number;
  continueAsNewSuggested: boolean;
}): boolean {
  return s.sessionsThisRun >= s.sessionsPerRun || s.historyLength >= IMAP_MAX_EVENTS_PER_RUN || s.continueAsNewSuggested;
}
