import type { Config } from './config';

/** The engine's own rates (core/config.ts): README "Cost per email". */
export interface EngineRates {
  actionsPerEmail: number;
  temporalPricePerMillionActions: number;
  infraMonthlyUsd: number;
  targetPerEmailUsd: number;
}

export const engineRates = (c: Pick<Config, 'ACTIONS_PER_EMAIL' | 'TEMPORAL_PRICE_PER_MILLION_ACTIONS' | 'INFRA_MONTHLY_USD' | 'COST_PER_EMAIL_TARGET_USD'>): EngineRates => ({
  actionsPerEmail: c.ACTIONS_PER_EMAIL,
  temporalPricePerMillionActions: c.TEMPORAL_PRICE_PER_MILLION_ACTIONS,
  infraMonthlyUsd: c.INFRA_MONTHLY_USD,
  targetPerEmailUsd: c.COST_PER_EMAIL_TARGET_USD,
});

/** Temporal's share of one sent email: the measured actions per email at the price per million. */
export const temporalPerEmailUsd = (r: EngineRates): number => (r.actionsPerEmail * r.temporalPricePerMillionActions) / 1_000_000;

/**
 * The engine's share of some sends: Temporal at its price per action, and the month's infrastructure figure
 * spread evenly over every client's sends of that month (so a month's sends together carry exactly
 * INFRA_MONTHLY_USD; in the month under way, over its sends so far).
 */
export function engineShare(
  months: { sends: number; allSends: number }[],
  r: EngineRates,
): { sends: number; temporalUsd: number; infraUsd: number } {
  let sends = 0;
  let infraUsd = 0;
  for (const m of months) {
    sends += m.sends;
    if (m.allSends > 0) infraUsd += (r.infraMonthlyUsd * m.sends) / m.allSends;
  }
  return { sends, temporalUsd: sends * temporalPerEmailUsd(r), infraUsd };
}

/** A cost over a count of emails: null when nothing was sent. */
export const perEmail = (usd: number, sends: number): number | null => (sends > 0 ? usd / sends : null);
