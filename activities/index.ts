import { campaignDataActivities } from './campaign-data.activity';
import type { ActivityDeps } from './deps';
import { mailboxActivities } from './mailbox.activity';
import { reserveSlotActivities } from './reserve-slot.activity';
import { sendStepActivities } from './send-step.activity';

/** The one factory the worker registers; workflows import only its type. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...campaignDataActivities(deps),
    ...mailboxActivities(deps),
    ...reserveSlotActivities(deps),
    ...sendStepActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { ActivityDeps } from './deps';
