import type { Pool } from 'pg';
import type { Pricing } from '../../core/schemas/pricing';
import type { ProviderKind } from '../../core/schemas/providers';

/**
 * The sends a cost report covers: one client's, of one campaign or sent in [from, to). A send counts once the
 * provider accepted it (its 'sent' record names the account and the provider's message id), whatever its
 * later status (delivered, bounced, complained).
 */
export type CostScope = { clientId: string; campaignId: string } | { clientId: string; from: Date; to: Date };

export interface ProviderCostRow {
  providerAccountId: string;
  name: string;
  kind: ProviderKind;
  /** The account's pricing now (each send was costed at the pricing of its time). */
  pricing: Pricing | null;
  sends: number;
  /** Sends recorded without a cost: the account was not priced then. */
  unpricedSends: number;
  costUsd: number;
}

export interface MonthSends {
  /** The calendar month (UTC), as YYYY-MM. */
  month: string;
  /** The scope's sends in that month. */
  sends: number;
  /** Every client's sends in that month: what the month's infrastructure figure is spread over. */
  allSends: number;
}

function where(scope: CostScope): { sql: string; params: unknown[] } {
  return 'campaignId' in scope
    ? { sql: 's.client_id = $1 AND s.campaign_id = $2', params: [scope.clientId, scope.campaignId] }
    : { sql: 's.client_id = $1 AND s.sent_at >= $2 AND s.sent_at < $3', params: [scope.clientId, scope.from, scope.to] };
}

const ACCEPTED = 's.provider_message_id IS NOT NULL AND s.provider_account_id IS NOT NULL AND s.sent_at IS NOT NULL';

/** Per provider account: sends, unpriced sends and the sum of the sends' recorded costs (summed exactly, then a float). */
export async function providerCosts(pool: Pool, scope: CostScope): Promise<ProviderCostRow[]> {
  const w = where(scope);
  const { rows } = await pool.query<ProviderCostRow>(
    `SELECT p.id AS "providerAccountId", p.name, p.kind, p.pricing, count(*)::int AS sends,
            count(*) FILTER (WHERE s.cost_usd IS NULL)::int AS "unpricedSends",
            coalesce(sum(s.cost_usd), 0)::float8 AS "costUsd"
       FROM sends s JOIN provider_accounts p ON p.id = s.provider_account_id
      WHERE ${w.sql} AND ${ACCEPTED}
      GROUP BY p.id ORDER BY p.name`,
    w.params,
  );
  return rows;
}

/** The scope's sends by calendar month (UTC), each with every client's sends of that month. */
export async function sendsByMonth(pool: Pool, scope: CostScope): Promise<MonthSends[]> {
  const w = where(scope);
  const { rows } = await pool.query<MonthSends>(
    `WITH mine AS (
       SELECT date_trunc('month', s.sent_at AT TIME ZONE 'UTC') AS m, count(*)::int AS n
         FROM sends s WHERE ${w.sql} AND ${ACCEPTED} GROUP BY 1
     )
     SELECT to_char(mine.m, 'YYYY-MM') AS month, mine.n AS sends,
            (SELECT count(*)::int FROM sends s
              WHERE ${ACCEPTED} AND s.sent_at >= (mine.m AT TIME ZONE 'UTC') AND s.sent_at < ((mine.m + interval '1 month') AT TIME ZONE 'UTC')) AS "allSends"
       FROM mine ORDER BY 1`,
    w.params,
  );
  return rows;
}
