import type { Pool } from 'pg';
import type { Logger } from '../core/logger';
import type { CampaignStepDef } from '../core/schemas/campaign-variants';
import { getVariantDecision, pinSendVariant, recordVariantDecision, variantTallies } from '../db/repositories/variants';
import { assignVariant, decideWinner } from '../workflows/policy/variants';

export interface StepVariantInput {
  clientId: string;
  campaignId: string;
  leadId: string;
  step: number;
  stepDef: CampaignStepDef;
  /** The claimed intent row of (lead, step): the choice is recorded on it. */
  sendId: string;
}

/**
 * The template a lead's step renders. A single-template step: that template.
 * A step with variants: the variant already recorded on the send (a retry, or
 * a new workflow run after continue-as-new, renders what the first attempt
 * chose); else, once the step's winner rule has decided, the winner; else the
 * lead's variant by stable hash (workflows/policy/variants.ts assignVariant).
 * A winner rule is asked (decideWinner) while undecided; its first decision
 * is stored (campaign_variant_decisions) and logged, and stands.
 */
export async function stepTemplateFor(pool: Pool, logger: Logger, input: StepVariantInput): Promise<string> {
  const { stepDef } = input;
  if (!stepDef.variants) return stepDef.templateId!;
  let chosen = stepDef.variants[assignVariant(input.leadId, input.step, stepDef.variants)]!.templateId;
  if (stepDef.winner) {
    let decision = await getVariantDecision(pool, input.campaignId, input.step);
    if (!decision) {
      const verdict = decideWinner(stepDef.variants, await variantTallies(pool, input.campaignId, input.step), stepDef.winner);
      if (verdict.kind === 'winner') {
        const recorded = await recordVariantDecision(pool, {
          campaignId: input.campaignId, clientId: input.clientId, step: input.step, templateId: verdict.templateId,
          metric: stepDef.winner.metric, after: stepDef.winner.after, reason: verdict.reason, tallies: verdict.tallies,
        });
        decision = recorded.decision;
        if (recorded.made) {
          logger.info({
            clientId: input.clientId, campaignId: input.campaignId, step: input.step, templateId: decision.templateId,
            metric: decision.metric, after: decision.after, tallies: decision.tallies,
          }, `variant winner decided: ${decision.reason}`);
        }
      }
    }
    if (decision) chosen = decision.templateId;
  }
  return pinSendVariant(pool, input.sendId, chosen);
}
