import { campaignWindowConstraint, getCampaignById, transitionCampaign } from '../db/repositories/campaigns';
import { recordLane } from '../db/repositories/campaign-lanes';
import type { WindowConstraint } from '../workflows/policy';
import { availableWork, releaseAllOfMailbox, releaseOutsidePlan, releaseUnsent, remainingWork, spreadUnassigned } from '../db/repositories/lead-work';
import { selectCampaignMailboxes } from '../db/repositories/mailboxes';
import type { ActivityDeps } from './deps';
import { modeLabel } from '../workflows/summaries';
import { raiseAlert, type ScheduledActivityDeps } from './reputation.activity';

export interface CampaignPlan {
  clientId: string;
  /** For the Web UI's activity summaries. */
  name: string;
  status: string;
  stepCount: number;
  /** providers: the mailbox's provider accounts by name, in failover order. */
  mailboxes: { id: string; address: string; providers: string[] }[];
  /** The campaign's own sending window in its zone, intersected with each mailbox's by the mailbox. */
  window?: WindowConstraint | null;
  /** epoch ms before which nothing is sent (startAt), if set. */
  startAt?: number | null;
  /** How it runs when not live (workflows/summaries.ts modeLabel), for the Web UI's summaries; absent for a live run. */
  mode?: string;
}

export function campaignDataActivities(deps: ActivityDeps & ScheduledActivityDeps) {
  const { pool, logger } = deps;
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
      const mode = modeLabel(c);
      return {
        clientId: c.clientId,
        name: c.name,
        status: c.status,
        stepCount: c.steps.length,
        mailboxes,
        window: campaignWindowConstraint(c),
        startAt: c.startAt ? c.startAt.getTime() : null,
        ...(mode ? { mode } : {}),
      };
    },

    async completeCampaign(input: { campaignId: string; clientId: string }): Promise<void> {
      // A staged start's sample is done: the campaign holds (no workflow waits; approve starts the rest).
      const c = await getCampaignById(pool, input.campaignId);
      if (c?.runMode === 'staged' && c.stage === 'sample') {
        await transitionCampaign(pool, input.clientId, input.campaignId, ['running', 'paused'], 'awaiting_approval');
        return;
      }
      // From paused too: a pause that raced the last send must not leave a finished campaign 'paused'.
      await transitionCampaign(pool, input.clientId, input.campaignId, ['running', 'paused'], 'completed');
    },

    /** Whether a lane has anything to send now (used by campaign runs recorded before child groups, which polled it). */
    async laneHasWork(input: { campaignId: string; mailboxId: string }): Promise<boolean> {
      const w = await availableWork(pool, input.campaignId, input.mailboxId, 1);
      return w.own + w.unassigned > 0;
    },

    /**
     * A mailbox's part of a campaign failed (its workflow is missing or was
     * terminated, its reservations or reports keep failing): everything it
     * held goes back to the campaign's other mailboxes, and an alert names
     * the mailbox and the reason. The campaign goes on.
     */
    async mailboxLaneFailed(input: { campaignId: string; clientId: string; mailboxId: string; reason: string }): Promise<number> {
      const released = await releaseAllOfMailbox(pool, input.campaignId, input.mailboxId);
      await recordLane(pool, input.campaignId, { mailboxId: input.mailboxId, state: 'ended', until: null, reason: 'failed' });
      logger.warn({ campaignId: input.campaignId, mailboxId: input.mailboxId, released, reason: input.reason }, 'mailbox left the campaign');
      await raiseAlert(deps, {
        clientId: input.clientId,
        kind: 'campaign_mailbox_failed',
        subjectType: 'mailbox',
        subjectId: input.mailboxId,
        message: `mailbox ${input.mailboxId} left campaign ${input.campaignId}: ${input.reason.slice(0, 300)}; ${released} leads went to its other mailboxes`,
      });
      return released;
    },

    async releaseUnsent(input: { campaignId: string; mailboxId: string }): Promise<number> {
      return releaseUnsent(pool, input.campaignId, input.mailboxId);
    },

    async remainingWork(input: { campaignId: string }) {
      return remainingWork(pool, input.campaignId);
    },
  };
}
