import {
  allHandlersFinished,
  condition,
  continueAsNew,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  imapSettingsChangedSignal,
  imapWatcherStateQuery,
  type ImapWatcherInput,
  type ImapWatcherState,
  type ImapWatcherTotals,
} from './messages/imap-watcher';
import { IMAP_SESSIONS_PER_RUN, imapWatcherShouldContinue } from './policy/imap-watcher';

export { imapSettingsChangedSignal, imapWatcherStateQuery } from './messages/imap-watcher';

/** How the watcher ended: its mailbox or settings are gone. */
export interface ImapWatcherEnd extends ImapWatcherTotals {
  reason: string;
}

/**
 * One mailbox's inbox watcher (imap-<address>): replies, auto-replies and
 * bounces arriving in the mailbox's own inbox go to the ingestion pipeline.
 *
 * The workflow only strings sessions together. Each session is one
 * long-running activity (`watchInbox`) on the worker's IMAP task queue: it
 * logs in, ingests what arrived since the stored cursor, then waits on IMAP
 * IDLE (or polls every IMAP_POLL_SECONDS where the server has no IDLE),
 * heartbeating, until IMAP_SESSION_MINUTES have passed. While a mailbox is
 * quiet nothing reaches this history: no timers, no polling activities, a
 * handful of events per session, and a continue-as-new every
 * `sessionsPerRun` sessions. A dropped connection is the activity's retry
 * (no event either). Refused credentials end the session with
 * `auth_failed` (the activity raised the alert): the watcher then waits,
 * with no timer, for new settings (imapSettingsChanged); sending is never
 * touched.
 */
export async function imapWatcherWorkflow(input: ImapWatcherInput): Promise<ImapWatcherEnd> {
  const sessionsPerRun = input.sessionsPerRun ?? IMAP_SESSIONS_PER_RUN;
  const totals: ImapWatcherTotals = input.totals ?? { sessions: 0, messages: 0, runs: 0 };
  totals.runs += 1;
  let status = input.status ?? 'watching';
  let sessionsThisRun = 0;
  let settingsChanged = false;

  const { watchInbox } = proxyActivities<Activities>({
    taskQueue: input.activityTaskQueue,
    // The session ends itself after sessionMs; this only catches a worker that died without a word.
    startToCloseTimeout: input.sessionMs + 10 * 60_000,
    heartbeatTimeout: '2 minutes',
    retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes' },
    summary: 'IMAP session',
  });

  setHandler(imapSettingsChangedSignal, () => {
    settingsChanged = true;
  });
  setHandler(imapWatcherStateQuery, (): ImapWatcherState => ({ mailboxId: input.mailboxId, status, sessionsThisRun, ...totals }));

  for (;;) {
    if (status === 'auth_failed') {
      await condition(() => settingsChanged);
      status = 'watching';
    }
    settingsChanged = false;
    const result = await watchInbox({ mailboxId: input.mailboxId, sessionMs: input.sessionMs });
    sessionsThisRun += 1;
    totals.sessions += 1;
    totals.messages += result.messages;
    if (result.kind === 'stopped') return { reason: result.reason, ...totals };
    if (result.kind === 'auth_failed') status = 'auth_failed';

    const info = workflowInfo();
    if (imapWatcherShouldContinue({ sessionsThisRun, sessionsPerRun, historyLength: info.historyLength, continueAsNewSuggested: info.continueAsNewSuggested })) {
      await condition(allHandlersFinished);
      // New settings that came in while this run ended are carried as a fresh start.
      return continueAsNew<typeof imapWatcherWorkflow>({ ...input, status: settingsChanged ? 'watching' : status, totals });
    }
  }
}
