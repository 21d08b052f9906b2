import { z } from 'zod';

/**
 * What a provider account charges, in USD (README "Cost per email"). Each
 * send records its cost at the account that sent it: per_message and
 * per_thousand are flat; a monthly plan records the marginal cost, 0 for the
 * plan's included messages of the calendar month (UTC) and its overage rate
 * after them (the plan's fee itself is a fixed cost, not any one send's).
 */
export const PRICING_KINDS = ['per_message', 'per_thousand', 'monthly'] as const;

const usd = (max: number, what: string) => z.number().min(0).max(max).describe(what);

export const pricing = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('per_message'), usd: usd(100, 'USD per message') }),
  z.strictObject({ kind: z.literal('per_thousand'), usd: usd(100_000, 'USD per 1,000 messages') }),
  z.strictObject({
    kind: z.literal('monthly'),
    usd: usd(10_000_000, 'the plan\'s monthly fee in USD (a fixed cost: not charged to any one send)'),
    includedMessages: z.number().int().min(0).max(1_000_000_000).describe('messages the fee covers each calendar month (UTC)'),
    overagePerThousandUsd: usd(100_000, 'USD per 1,000 messages past the included ones'),
  }),
]).describe('What the account charges; unset = not priced (its sends record no cost)');
export type Pricing = z.infer<typeof pricing>;
