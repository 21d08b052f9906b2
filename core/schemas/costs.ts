import { z } from 'zod';
import { providerKind } from './providers';

const usd = z.number().describe('USD');
const perEmailUsd = z.number().nullable().describe('USD per sent email; null when nothing was sent');

export const providerCostView = z.object({
  providerAccountId: z.uuid(),
  name: z.string(),
  kind: providerKind,
  sends: z.number().int().describe('sends this account accepted'),
  unpricedSends: z.number().int().describe('of them, sends recorded while the account had no pricing (no cost)'),
  costUsd: usd.describe('the sum of these sends\' recorded costs'),
  costPerEmailUsd: perEmailUsd,
});

export const costReport = z.object({
  clientId: z.uuid(),
  campaignId: z.uuid().optional(),
  from: z.string().optional(),
  to: z.string().optional(),
  providers: z.array(providerCostView).describe('per provider account that sent'),
  provider: z.object({ sends: z.number().int(), unpricedSends: z.number().int(), costUsd: usd, costPerEmailUsd: perEmailUsd }),
  engine: z.object({
    actionsPerEmail: z.number(),
    temporalPricePerMillionActions: z.number(),
    infraMonthlyUsd: z.number(),
    temporalUsd: usd,
    infraUsd: usd.describe("each month's INFRA_MONTHLY_USD over every client's sends of that month, times these sends"),
    costUsd: usd,
    costPerEmailUsd: perEmailUsd,
  }).describe('the engine\'s own share, estimated (README "Cost per email")'),
  total: z.object({ sends: z.number().int(), costUsd: usd, costPerEmailUsd: perEmailUsd }),
  targetPerEmailUsd: z.number(),
  withinTarget: z.boolean().nullable().describe('total cost per email at or under the target; null when nothing was sent'),
});
export type CostReport = z.infer<typeof costReport>;

const instant = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with an offset, e.g. 2026-03-01T00:00:00Z' });

export const clientCostQuery = z.strictObject({
  from: instant.optional().describe('start, inclusive (default: the start of the calendar month, UTC, of `to`)'),
  to: instant.optional().describe('end, exclusive (default: now)'),
});
