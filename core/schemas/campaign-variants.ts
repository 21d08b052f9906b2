import { z } from 'zod';

/** One A/B variant of a step: a template and its share of the step's leads (weight over the step's weights). */
export const stepVariant = z.strictObject({
  templateId: z.uuid(),
  weight: z.number().int().min(1).max(100).default(1),
});

/** The metrics a winner rule can judge by. */
export const WINNER_METRICS = ['reply_rate'] as const;

/**
 * After `after` sends of every variant, the step's remaining leads get the
 * variant with the best `metric` (workflows/policy/variants.ts decideWinner).
 */
export const winnerRule = z.strictObject({
  metric: z.enum(WINNER_METRICS),
  after: z.number().int().min(1).max(100_000),
});
export type WinnerRule = z.infer<typeof winnerRule>;

/** A step as stored: one template, or 2–5 weighted variants (and optionally a winner rule). */
export interface CampaignStepDef {
  templateId?: string;
  variants?: { templateId: string; weight: number }[];
  winner?: WinnerRule;
  delayDays: number;
}

/** Every template a step may send, in its order (the single template, or each variant's). */
export function stepTemplateIds(step: Pick<CampaignStepDef, 'templateId' | 'variants'>): string[] {
  return step.variants ? step.variants.map((v) => v.templateId) : step.templateId ? [step.templateId] : [];
}

/** The path of a step's template i in API errors: steps.N.templateId, or steps.N.variants.i.templateId. */
export function stepTemplatePath(stepIndex: number, step: Pick<CampaignStepDef, 'variants'>, i: number): string {
  return step.variants ? `steps.${stepIndex}.variants.${i}.templateId` : `steps.${stepIndex}.templateId`;
}

/** The rules a step's fields keep together (superRefine of campaignStep), each issue naming its field. */
export function checkStepShape(s: { templateId?: string; variants?: { templateId: string }[]; winner?: unknown }, ctx: z.RefinementCtx): void {
  if (s.templateId === undefined && s.variants === undefined) {
    ctx.addIssue({ code: 'custom', path: ['templateId'], message: 'give templateId, or variants (2 to 5)' });
  }
  if (s.templateId !== undefined && s.variants !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['variants'], message: 'give templateId or variants, not both' });
  }
  if (s.winner !== undefined && s.variants === undefined) {
    ctx.addIssue({ code: 'custom', path: ['winner'], message: 'a winner rule needs variants' });
  }
  // Defensive: a refinement may see a value whose other fields already failed.
  if (!Array.isArray(s.variants)) return;
  const seen = new Set<unknown>();
  s.variants.forEach((v, i) => {
    const id = (v as { templateId?: unknown } | null)?.templateId;
    if (seen.has(id)) ctx.addIssue({ code: 'custom', path: ['variants', i, 'templateId'], message: 'this template is already a variant of the step' });
    seen.add(id);
  });
}
