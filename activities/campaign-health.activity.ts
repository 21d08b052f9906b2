import type { CampaignFailedDecision, CampaignHealthInput } from '../workflows/policy/campaign-health';
import { observeCampaignPage, recordCampaignFailure } from '../services/campaign-health';
import type { ActivityDeps } from './deps';
import type { ScheduledActivityDeps } from './reputation.activity';

export interface CampaignHealthPage {
  /** Running or paused campaigns, each with its workflow as observed. */
  campaigns: CampaignHealthInput[];
  /** When they were observed (ms since the epoch). */
  takenAt: number;
  /** Where the next page starts; null on the last page. */
  nextCampaignId: string | null;
}

/** The reputation controller's campaign step: observe (one page), then mark the failed ones (the workflow decides which). */
export function campaignHealthActivities(deps: ActivityDeps & ScheduledActivityDeps) {
  const health = { pool: deps.pool, temporal: deps.client, log: deps.logger, alertWebhookUrl: deps.alertWebhookUrl };
  return {
    async campaignHealthSnapshot(input: { afterCampaignId: string | null }): Promise<CampaignHealthPage> {
      const page = await observeCampaignPage(health, input.afterCampaignId);
      return { ...page, takenAt: deps.clock().getTime() };
    },

    /** Marks each campaign failed and alerts, once: a retry, or a GET that got there first, changes nothing. Returns how many it marked. */
    async markCampaignsFailed(decisions: CampaignFailedDecision[]): Promise<number> {
      let marked = 0;
      for (const d of decisions) {
        if (await recordCampaignFailure(health, d)) marked++;
      }
      deps.logger.info({ decisions: decisions.length, marked }, 'campaigns whose workflow closed unexpectedly marked failed');
      return marked;
    },
  };
}
