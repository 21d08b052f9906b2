import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { MailboxRecord } from '../db/repositories/mailboxes';
import { mailboxWorkflowId } from '../workflows/ids';
import { LONG_RUN_TASK_TIMEOUT } from '../workflows/run-limits';
// The workflow body is named by type only: the API never loads workflow code.
import type { mailboxWorkflow } from '../workflows/mailbox.workflow';
import { stateQuery, type MailboxLiveState } from '../workflows/messages/mailbox';
import type { MailboxPolicySettings } from '../workflows/policy';
import { SA_CLIENT, SA_MAILBOX, SA_STATUS } from '../workflows/search-attributes';

export function policySettingsOf(m: MailboxRecord): MailboxPolicySettings {
  return {
    timezone: m.timezone,
    window: m.window as MailboxPolicySettings['window'],
    limits: m.limits,
    warmup: m.warmup,
  };
}

/** Runs fn over items with at most `limit` in flight. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  });
  await Promise.all(lanes);
  return out;
}

/**
 * Starts mailbox-<address> for each record. A workflow left over for the same
 * address (say, from a wiped database) is replaced: Postgres is the truth.
 * Returns the records whose workflow could not be started, with the reason.
 */
export async function startMailboxWorkflows(
  temporal: Client,
  taskQueue: string,
  records: MailboxRecord[],
  concurrency = 64,
): Promise<{ record: MailboxRecord; error: string }[]> {
  const results = await mapLimit(records, concurrency, async (m) => {
    try {
      await temporal.workflow.start<typeof mailboxWorkflow>('mailboxWorkflow', {
        taskQueue,
        workflowId: mailboxWorkflowId(m.address),
        args: [{ mailboxId: m.id, address: m.address, settings: policySettingsOf(m) }],
        workflowIdConflictPolicy: 'TERMINATE_EXISTING',
        workflowTaskTimeout: LONG_RUN_TASK_TIMEOUT,
        typedSearchAttributes: [
          { key: SA_MAILBOX, value: m.id },
          { key: SA_STATUS, value: 'active' },
          ...(m.clientId ? [{ key: SA_CLIENT, value: m.clientId }] : []),
        ],
        staticSummary: `Mailbox ${m.address} (pool ${m.pool})`,
      });
      return null;
    } catch (err) {
      return { record: m, error: (err as Error).message };
    }
  });
  return results.filter((r): r is { record: MailboxRecord; error: string } => r !== null);
}

/**
 * The workflow's live state, or null when it cannot be had in time (no
 * workflow for it, or no worker answering): stored fields still show.
 */
export async function mailboxLiveState(temporal: Client, address: string, timeoutMs = 5000): Promise<MailboxLiveState | null> {
  try {
    return await temporal.connection.withDeadline(Date.now() + timeoutMs, () =>
      temporal.workflow.getHandle(mailboxWorkflowId(address)).query(stateQuery, Date.now()),
    );
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    const text = `${(err as Error).message} ${String((err as Error).cause ?? '')}`;
    // No worker answered in time: the client's deadline, or (on a loaded server) the server's own query timeout.
    if (/DEADLINE_EXCEEDED|deadline exceeded|query timed out|timed out waiting/i.test(text)) return null;
    throw err;
  }
}
