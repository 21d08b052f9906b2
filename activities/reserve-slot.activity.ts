import { ApplicationFailure } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { mailboxWorkflowId } from '../workflows/ids';
import { reserveSlotUpdate, type ReserveAnswer } from '../workflows/mailbox.workflow';
import type { ActivityDeps } from './deps';

export function reserveSlotActivities({ client }: ActivityDeps) {
  return {
    /**
     * Asks a mailbox workflow for a send slot (a workflow cannot send an
     * Update itself). The request id doubles as the Update id, so a retried
     * activity gets the same answer instead of a second slot.
     */
    async reserveMailboxSlot(input: { address: string; campaignId: string; requestId: string }): Promise<ReserveAnswer> {
      try {
        return await client.workflow.getHandle(mailboxWorkflowId(input.address)).executeUpdate(reserveSlotUpdate, {
          args: [{ requestId: input.requestId, campaignId: input.campaignId }],
          updateId: input.requestId,
        });
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) {
          throw ApplicationFailure.nonRetryable(`no running workflow for mailbox ${input.address}`, 'MailboxNotRunning');
        }
        throw err;
      }
    },
  };
}
