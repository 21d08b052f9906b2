import { campaignDataActivities } from './campaign-data.activity';
import type { ActivityDeps } from './deps';
import { mailboxActivities } from './mailbox.activity';
import { sendStepActivities } from './send-step.activity';

/** The one factory the worker registers; workflows import only its type. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...campaignDataActivities(deps),
    ...mailboxActivities(deps),
    ...sendStepActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { ActivityDeps } from './deps';
