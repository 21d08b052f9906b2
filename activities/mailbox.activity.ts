import { setMailboxStatus as persistStatus } from '../db/repositories/mailboxes';
import type { ActivityDeps } from './deps';

export function mailboxActivities({ pool, logger }: ActivityDeps) {
  return {
    /** Mirrors the mailbox workflow's pause state into Postgres (list filters, campaigns). */
    async setMailboxStatus(input: { mailboxId: string; status: 'active' | 'paused'; reason: string | null }): Promise<void> {
      await persistStatus(pool, input.mailboxId, input.status);
      logger.info({ mailboxId: input.mailboxId, status: input.status, reason: input.reason }, 'mailbox status changed');
    },
  };
}
