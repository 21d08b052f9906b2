import { getCampaignById, transitionCampaign } from '../db/repositories/campaigns';
import { availableWork, releaseOutsidePlan, releaseUnsent, remainingWork, spreadUnassigned } from '../db/repositories/lead-work';
import { pendingLeadIds } from '../db/repositories/leads';
import { selectCampaignMailboxes } from '../db/repositories/mailboxes';
import type { ActivityDeps } from './deps';

export interface CampaignPlan {
  clientId: string;
  /** For the Web UI's activity summaries. */
  name: string;
  status: string;
  stepCount: number;
  /** providers: the mailbox's provider accounts by name, in failover order. */
  mailboxes: { id: string; address: string; providers: string[] }[];
}

export function campaignDataActivities({ pool }: ActivityDeps) {
  return {
    /**
     * The campaign's sending plan: its steps and the mailboxes it may use.
     * Unsent new leads held by a mailbox outside the plan go back to the
     * campaign; with spreadLeads (a run's start, not a continue-as-new) the
     * leads not yet given to a mailbox are spread over the plan's by load.
     */
    async loadCampaignPlan(input: { campaignId: string; spreadLeads?: boolean }): Promise<CampaignPlan> {
      const c = await getCampaignById(pool, input.campaignId);
      if (!c) throw new Error(`campaign ${input.campaignId} not found`);
      const mailboxes = (await selectCampaignMailboxes(pool, c.clientId, c.mailboxSelector))
        .filter((m) => m.status === 'active')
        .map((m) => ({ id: m.id, address: m.address, providers: m.providers }));
      // Leads held by a mailbox that is no longer in the plan (paused, resting, its domain failing) would have no lane.
      await releaseOutsidePlan(pool, input.campaignId, mailboxes.map((m) => m.id));
      if (input.spreadLeads) await spreadUnassigned(pool, input.campaignId, mailboxes.map((m) => m.id));
      return { clientId: c.clientId, name: c.name, status: c.status, stepCount: c.steps.length, mailboxes };
    },

    /** One page of leads still waiting for their first step; keeps workflow inputs small. */
    async pendingLeadPage(input: { campaignId: string; afterId: string | null; limit: number }): Promise<string[]> {
      return pendingLeadIds(pool, input.campaignId, input.afterId, input.limit);
    },

    async completeCampaign(input: { campaignId: string; clientId: string }): Promise<void> {
      // From paused too: a pause that raced the last send must not leave a finished campaign 'paused'.
      await transitionCampaign(pool, input.clientId, input.campaignId, ['running', 'paused'], 'completed');
    },

    /** Whether a lane has anything to send now: its own due work or an unassigned lead. */
    async laneHasWork(input: { campaignId: string; mailboxId: string }): Promise<boolean> {
      const w = await availableWork(pool, input.campaignId, input.mailboxId, 1);
      return w.own + w.unassigned > 0;
    },

    async releaseUnsent(input: { campaignId: string; mailboxId: string }): Promise<number> {
      return releaseUnsent(pool, input.campaignId, input.mailboxId);
    },

    async remainingWork(input: { campaignId: string }) {
      return remainingWork(pool, input.campaignId);
    },
  };
}
