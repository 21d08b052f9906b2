import { setMailboxStatus as persistStatus } from '../db/repositories/mailboxes';
import type { MailboxStatusWrite } from '../workflows/messages/mailbox';
import type { ActivityDeps } from './deps';

export function mailboxActivities({ pool, logger }: ActivityDeps) {
  return {
    /**
     * Mirrors the mailbox workflow's status and pause reasons into Postgres (list filters, campaigns). The workflow
     * is its only caller, and the only writer of a mailbox's status: API routes and scheduled jobs ask the workflow.
     */
    async setMailboxStatus(input: MailboxStatusWrite): Promise<void> {
      await persistStatus(pool, input.mailboxId, input.status, input.pauses);
      logger.info({ mailboxId: input.mailboxId, status: input.status, reasons: input.pauses?.map((p) => p.kind) ?? null }, 'mailbox status changed');
    },
  };
}
