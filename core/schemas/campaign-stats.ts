import { z } from 'zod';

const count = z.number().int();
/** A share of the step's sent mails (0..1, four decimals); null when nothing was sent. */
const rate = z.number().nullable();

export const stepFigures = z.object({
  /** Mails that went out (or may have: `unknown`): every figure below is a share of these. */
  sent: count,
  /** Reported delivered by the provider (a complaint implies delivery). */
  delivered: count,
  bounced: z.object({ hard: count, soft: count }),
  complained: count,
  /** Sends opened by a person at least once (open tracking; prefetches are not in it). */
  opened: count,
  /** Sends with a person's click on at least one tracked link. */
  clicked: count,
  /** Sends whose only opens / clicks were prefetches (Apple Mail Privacy Protection, security scanners). */
  prefetched: z.object({ opened: count, clicked: count }),
  replied: count,
  autoReplied: count,
  /** Leads that unsubscribed after this step was their last one sent. */
  unsubscribed: count,
  rates: z.object({
    delivered: rate, hardBounced: rate, softBounced: rate, complained: rate,
    opened: rate, clicked: rate, replied: rate, autoReplied: rate, unsubscribed: rate,
  }),
});
export type StepFigures = z.infer<typeof stepFigures>;

export const campaignStats = z.object({
  campaignId: z.string(),
  tracking: z.object({ opens: z.boolean(), clicks: z.boolean() }),
  /** One entry per step of the campaign, in order (step is 0-based, as in /sends). */
  steps: z.array(stepFigures.extend({
    step: count,
    /** The step's template; null for a step with variants. */
    templateId: z.string().nullable(),
    /** A/B variants (empty for a single-template step): each variant's figures, counted from the sends that rendered it. */
    variants: z.array(stepFigures.extend({ templateId: z.string(), weight: count })),
    /** The winner rule's decision (null: none, or not yet): the variant the step's remaining leads get, and the figures it was made on. */
    winner: z.object({
      templateId: z.string(),
      metric: z.string(),
      after: count,
      reason: z.string(),
      decidedAt: z.string(),
      tallies: z.array(z.object({ templateId: z.string(), sent: count, replied: count, rate: z.number() })),
    }).nullable(),
  })),
  /** The steps added up. */
  total: stepFigures,
});
