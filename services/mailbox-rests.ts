import { WorkflowNotFoundError } from '@temporalio/client';
import { closeRest, mailboxAddress, openRest, type RestKind } from '../db/repositories/reputation';
import { mailboxWorkflowId } from '../workflows/ids';
import { pauseUpdate, resumeUpdate } from '../workflows/messages/mailbox';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { wakeCampaignsUsingMailbox } from './campaign-wake';

export type { RestKind };

/** What pausing and resting a mailbox needs (the API passes its own: a domain moving to another owner rests mailboxes at once). */
export interface MailboxRestDeps {
  pool: Pool;
  client: Client;
  logger: { warn(obj: object, msg: string): void };
}

export const DOMAIN_OUT_REST_REASON = 'its sending domain is out of rotation';
export const DOMAIN_MOVED_REST_REASON = 'its sending domain was verified by another owner';
export const DNS_FAILED_REST_REASON = 'its sending domain failed its DNS check';

/**
 * Adds (or takes away) one pause reason of a mailbox by asking its workflow,
 * the one writer of its status (it writes PostgreSQL itself). A mailbox with
 * no running workflow sends nothing anyway: logged, nothing else changes.
 */
export async function askMailbox(
  deps: MailboxRestDeps,
  mailboxId: string,
  change: { pause: true; kind: RestKind; reason: string; until: Date | null } | { pause: false; kind: RestKind },
): Promise<boolean> {
  const m = await mailboxAddress(deps.pool, mailboxId);
  if (!m) return false;
  const handle = deps.client.workflow.getHandle(mailboxWorkflowId(m.address));
  try {
    if (change.pause) await handle.executeUpdate(pauseUpdate, { args: [{ kind: change.kind, reason: change.reason, until: change.until?.getTime() ?? null }] });
    else await handle.executeUpdate(resumeUpdate, { args: [{ kind: change.kind }] });
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    deps.logger.warn({ mailboxId }, 'mailbox has no running workflow; its pause reasons are unchanged');
    return true;
  }
  if (!change.pause) await wakeCampaignsUsingMailbox(deps.pool, deps.client, mailboxId, deps.logger);
  return true;
}

/** Rests a mailbox for one kind of reason: an open mailbox_rests row of that kind, the reason added to its workflow. False when it already rests for that kind. */
export async function restMailbox(deps: MailboxRestDeps, mailboxId: string, kind: RestKind, reason: string, restUntil: Date | null): Promise<boolean> {
  const opened = await openRest(deps.pool, mailboxId, kind, reason, restUntil);
  if (!opened) return false;
  await askMailbox(deps, mailboxId, { pause: true, kind, reason, until: restUntil });
  return true;
}

/** Ends one kind of rest of a mailbox: that reason taken from its workflow (any other stays), the rest closed. */
export async function endRest(deps: MailboxRestDeps, mailboxId: string, kind: RestKind): Promise<boolean> {
  // The workflow first: a failure leaves the rest open, so the next run tries again.
  await askMailbox(deps, mailboxId, { pause: false, kind });
  return closeRest(deps.pool, mailboxId, kind);
}

