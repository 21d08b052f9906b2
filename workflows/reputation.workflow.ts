import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ReputationApplied } from '../activities/reputation.activity';
import { decideReputation, type ReputationDecision } from './policy/reputation';

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 3, initialInterval: '5 seconds' },
});

export interface ReputationRunResult extends ReputationApplied {
  decisions: ReputationDecision[];
}

/**
 * One reputation controller run (the `reputation-controller` schedule, every
 * 15 minutes): measure (activity), decide (pure policy), act (activity).
 */
export async function reputationWorkflow(): Promise<ReputationRunResult> {
  const { snapshot, settings, takenAt } = await acts.reputationSnapshot();
  const decisions = decideReputation(snapshot, settings, takenAt);
  if (decisions.length === 0) {
    return { decisions, providersSwitched: 0, domainsOut: 0, mailboxesRested: 0, mailboxesResumed: 0 };
  }
  const applied = await acts.applyReputationDecisions(decisions);
  return { decisions, ...applied };
}
