/**
 * Messages of the inbox watcher (imap-<address>): definitions and types
 * only, so the API and activities never load the workflow body.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';

export type ImapWatcherStatus = 'watching' | 'auth_failed';

/** Counters carried across continue-as-new. */
export interface ImapWatcherTotals {
  /** Sessions run, every run counted. */
  sessions: number;
  /** Messages ingested, every run counted. */
  messages: number;
  /** Runs so far (1 for the first). */
  runs: number;
}

export interface ImapWatcherInput {
  mailboxId: string;
  /** The task queue of the watch activity: the worker's IMAP queue (its own slots, so sessions never crowd out sends). */
  activityTaskQueue: string;
  /** How long one IMAP session lasts (IMAP_SESSION_MINUTES). */
  sessionMs: number;
  /** Sessions per run before continuing as new. */
  sessionsPerRun?: number;
  status?: ImapWatcherStatus;
  totals?: ImapWatcherTotals;
}

export interface ImapWatcherState extends ImapWatcherTotals {
  mailboxId: string;
  status: ImapWatcherStatus;
  /** Sessions in this run. */
  sessionsThisRun: number;
}

/** What one session of the watch activity ended with. */
export type WatchResult =
  /** The session ran its course (or the connection dropped after some work); the next one starts at once. */
  | { kind: 'session_ended'; messages: number; idle: boolean }
  /** The server refused the credentials: the watcher waits for new ones (an alert was raised). */
  | { kind: 'auth_failed'; messages: 0 }
  /** The mailbox or its IMAP settings are gone: the watcher ends. */
  | { kind: 'stopped'; messages: 0; reason: string };

export interface WatchInput {
  mailboxId: string;
  sessionMs: number;
}

/** New IMAP settings were stored: a watcher waiting on refused credentials tries again. */
export const imapSettingsChangedSignal = defineSignal('imapSettingsChanged');
export const imapWatcherStateQuery = defineQuery<ImapWatcherState>('imapWatcherState');
