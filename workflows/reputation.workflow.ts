import { patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ReputationApplied } from '../activities/reputation.activity';
import { decideCampaignHealth } from './policy/campaign-health';
import { decideReputation, type ReputationDecision } from './policy/reputation';
import { decideReputationLegacy, type LegacyReputationSettings, type LegacyReputationSnapshot } from './policy/reputation-legacy';
import { ONE_REPUTATION_RULE_PATCH } from './messages/mailbox';

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 3, initialInterval: '5 seconds' },
});

export interface ReputationRunResult extends ReputationApplied {
  decisions: ReputationDecision[];
  /** Running or paused campaigns found with their workflow closed unexpectedly, and marked failed (absent in runs before that step). */
  campaignsFailed?: number;
}

/** At most this many decisions are returned in the result (all are applied). */
const RESULT_DECISIONS = 200;

/**
 * One reputation controller run (the `reputation-controller` schedule, every
 * 15 minutes): measure (activity), decide (pure policy), act (activity), one
 * page of mailboxes at a time (providers and domains come with the first).
 * Then the campaigns: a running or paused row whose workflow closed other
 * than by completing is marked failed, with an alert (a page at a time).
 */
export async function reputationWorkflow(): Promise<ReputationRunResult> {
  const result: ReputationRunResult = { decisions: [], providersSwitched: 0, domainsOut: 0, mailboxesRested: 0, mailboxesResumed: 0 };
  // Decided once, at the start: a run recorded before the one reputation rule replays with the old mailbox rule.
  const oneRule = patched(ONE_REPUTATION_RULE_PATCH);
  let afterMailboxId: string | null = null;
  do {
    const page: Awaited<ReturnType<Activities['reputationSnapshot']>> = await acts.reputationSnapshot({ afterMailboxId });
    const decisions = oneRule
      ? decideReputation(page.snapshot, page.settings, page.takenAt)
      : decideReputationLegacy(page.snapshot as unknown as LegacyReputationSnapshot, page.settings as unknown as LegacyReputationSettings, page.takenAt);
    if (decisions.length > 0) {
      const applied = await acts.applyReputationDecisions(decisions);
      result.providersSwitched += applied.providersSwitched;
      result.domainsOut += applied.domainsOut;
      result.mailboxesRested += applied.mailboxesRested;
      result.mailboxesResumed += applied.mailboxesResumed;
      result.decisions.push(...decisions.slice(0, RESULT_DECISIONS - result.decisions.length));
    }
    afterMailboxId = page.nextMailboxId;
  } while (afterMailboxId !== null);
  // Histories recorded before this step have no marker and replay without it.
  if (patched('campaign-health')) {
    result.campaignsFailed = 0;
    let afterCampaignId: string | null = null;
    do {
      const page: Awaited<ReturnType<Activities['campaignHealthSnapshot']>> = await acts.campaignHealthSnapshot({ afterCampaignId });
      const failed = decideCampaignHealth(page.campaigns, page.takenAt);
      if (failed.length > 0) result.campaignsFailed += await acts.markCampaignsFailed(failed);
      afterCampaignId = page.nextCampaignId;
    } while (afterCampaignId !== null);
  }
  return result;
}
