import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { imapTaskQueue, type Config } from '../core/config';
import { imapWatcherWorkflowId } from '../workflows/ids';
import type { imapWatcherWorkflow } from '../workflows/imap-watcher.workflow';
import { imapSettingsChangedSignal, imapWatcherStateQuery } from '../workflows/messages/imap-watcher';
import type { ImapWatcherInput, ImapWatcherState } from '../workflows/messages/imap-watcher';
import { SA_CLIENT, SA_MAILBOX } from '../workflows/search-attributes';

export interface WatchedMailbox {
  id: string;
  address: string;
  clientId: string | null;
}

type WatcherConfig = Pick<Config, 'TEMPORAL_TASK_QUEUE' | 'IMAP_SESSION_MINUTES'>;

function watcherStart(config: WatcherConfig, m: WatchedMailbox) {
  const input: ImapWatcherInput = { mailboxId: m.id, activityTaskQueue: imapTaskQueue(config), sessionMs: config.IMAP_SESSION_MINUTES * 60_000 };
  return {
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    workflowId: imapWatcherWorkflowId(m.address),
    args: [input] as [ImapWatcherInput],
    typedSearchAttributes: [{ key: SA_MAILBOX, value: m.id }, ...(m.clientId ? [{ key: SA_CLIENT, value: m.clientId }] : [])],
    staticSummary: `Inbox watcher of ${m.address}`,
  };
}

/**
 * Starts imap-<address> for each newly imported mailbox with IMAP settings.
 * A watcher left over for the same address is replaced (Postgres is the
 * truth, as for mailbox-<address>). Returns the mailboxes whose watcher
 * could not be started, with the reason.
 */
export async function startImapWatchers(temporal: Client, config: WatcherConfig, mailboxes: WatchedMailbox[]): Promise<{ id: string; error: string }[]> {
  const failed: { id: string; error: string }[] = [];
  for (let i = 0; i < mailboxes.length; i += 64) {
    await Promise.all(
      mailboxes.slice(i, i + 64).map(async (m) => {
        try {
          await temporal.workflow.start<typeof imapWatcherWorkflow>('imapWatcherWorkflow', { ...watcherStart(config, m), workflowIdConflictPolicy: 'TERMINATE_EXISTING' });
        } catch (err) {
          failed.push({ id: m.id, error: (err as Error).message });
        }
      }),
    );
  }
  return failed;
}

/** New settings were stored: the running watcher hears of it (one waiting on refused credentials tries again), or one starts. */
export async function imapSettingsChanged(temporal: Client, config: WatcherConfig, m: WatchedMailbox): Promise<void> {
  await temporal.workflow.signalWithStart<typeof imapWatcherWorkflow, []>('imapWatcherWorkflow', { ...watcherStart(config, m), signal: imapSettingsChangedSignal, signalArgs: [] });
}

/** The settings were removed: the watcher ends (its session is cancelled). */
export async function stopImapWatcher(temporal: Client, address: string): Promise<void> {
  try {
    await temporal.workflow.getHandle(imapWatcherWorkflowId(address)).cancel();
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
}

/** The watcher's live state, or null when it cannot be had in time (no watcher, no worker answering). */
export async function imapWatcherState(temporal: Client, address: string, timeoutMs = 5000): Promise<ImapWatcherState | null> {
  try {
    return await temporal.connection.withDeadline(Date.now() + timeoutMs, () =>
      temporal.workflow.getHandle(imapWatcherWorkflowId(address)).query(imapWatcherStateQuery),
    );
  } catch {
    return null;
  }
}
