import { campaignDataActivities } from './campaign-data.activity';
import { campaignHealthActivities } from './campaign-health.activity';
import type { ActivityDeps } from './deps';
import { domainActivities } from './domains.activity';
import { imapActivities, type ImapActivityDeps } from './imap.activity';
import { mailboxActivities } from './mailbox.activity';
import { reputationActivities, type ScheduledActivityDeps } from './reputation.activity';
import { reserveSlotActivities } from './reserve-slot.activity';
import { retentionActivities } from './retention.activity';
import { rotationActivities } from './rotation.activity';
import { sendStepActivities } from './send-step.activity';

/** The one factory the worker registers; workflows import only its type. */
export function createActivities(deps: ActivityDeps & ScheduledActivityDeps & ImapActivityDeps) {
  return {
    ...campaignDataActivities(deps),
    ...mailboxActivities(deps),
    ...reserveSlotActivities(deps),
    ...sendStepActivities(deps),
    ...reputationActivities(deps),
    ...campaignHealthActivities(deps),
    ...rotationActivities(deps),
    ...domainActivities(deps),
    ...imapActivities(deps),
    ...retentionActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { ActivityDeps } from './deps';
