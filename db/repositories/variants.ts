/**
 * A/B variants of campaign steps (migration 027): the variant recorded on a
 * send, the winner rule's tallies and decisions, and the per-variant figures
 * of GET /v1/campaigns/:id/stats.
 */
import type { Pool, PoolClient } from 'pg';
import { EMPTY_COUNTS, WENT_OUT, type StepCounts } from './campaign-stats';

type Db = Pool | PoolClient;

/**
 * Records the variant on the send, unless it already has one: the stored
 * one is returned, so a retry (or a new run of the workflow) renders the
 * variant its first attempt chose, whatever was decided meanwhile.
 */
export async function pinSendVariant(db: Db, sendId: string, templateId: string): Promise<string> {
  const { rows } = await db.query<{ variant: string }>(
    `UPDATE sends SET variant_template_id = coalesce(variant_template_id, $2) WHERE id = $1 RETURNING variant_template_id AS variant`,
    [sendId, templateId],
  );
  return rows[0]?.variant ?? templateId;
}

/** Per variant of one step: its sends that went out, and those with a reply (events of the reply ingestion, as the stats count them). */
export async function variantTallies(db: Db, campaignId: string, step: number): Promise<{ templateId: string; sent: number; replied: number }[]> {
  const { rows } = await db.query<{ templateId: string; sent: number; replied: number }>(
    `SELECT s.variant_template_id AS "templateId", count(*)::int AS sent,
            count(*) FILTER (WHERE EXISTS (
              SELECT 1 FROM events e WHERE e.send_id = s.id AND e.client_id = s.client_id AND e.type = 'replied'))::int AS replied
     FROM sends s
     WHERE s.campaign_id = $1 AND s.step = $2 AND s.variant_template_id IS NOT NULL AND s.status = ANY($3::text[])
     GROUP BY s.variant_template_id`,
    [campaignId, step, WENT_OUT],
  );
  return rows;
}

export interface VariantDecision {
  step: number;
  templateId: string;
  metric: string;
  after: number;
  reason: string;
  tallies: { templateId: string; sent: number; replied: number; rate: number }[];
  decidedAt: Date;
}

const DECISION = `step, template_id AS "templateId", metric, after_sends AS "after", reason, tallies, decided_at AS "decidedAt"`;

export async function getVariantDecision(db: Db, campaignId: string, step: number): Promise<VariantDecision | null> {
  const { rows } = await db.query<VariantDecision>(`SELECT ${DECISION} FROM campaign_variant_decisions WHERE campaign_id = $1 AND step = $2`, [campaignId, step]);
  return rows[0] ?? null;
}

export async function listVariantDecisions(db: Db, clientId: string, campaignId: string): Promise<VariantDecision[]> {
  const { rows } = await db.query<VariantDecision>(
    `SELECT ${DECISION} FROM campaign_variant_decisions WHERE campaign_id = $1 AND client_id = $2 ORDER BY step`,
    [campaignId, clientId],
  );
  return rows;
}

/**
 * Records a step's winner, the first one only (two lanes deciding at once:
 * one row wins). Returns the decision that stands and whether this call made it.
 */
export async function recordVariantDecision(
  db: Db,
  d: { campaignId: string; clientId: string; step: number; templateId: string; metric: string; after: number; reason: string; tallies: VariantDecision['tallies'] },
): Promise<{ decision: VariantDecision; made: boolean }> {
  const { rows } = await db.query<VariantDecision>(
    `INSERT INTO campaign_variant_decisions (campaign_id, client_id, step, template_id, metric, after_sends, reason, tallies)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (campaign_id, step) DO NOTHING RETURNING ${DECISION}`,
    [d.campaignId, d.clientId, d.step, d.templateId, d.metric, d.after, d.reason, JSON.stringify(d.tallies)],
  );
  if (rows[0]) return { decision: rows[0], made: true };
  return { decision: (await getVariantDecision(db, d.campaignId, d.step))!, made: false };
}

const VARIANT_SENDS = `
  SELECT step, variant_template_id AS "templateId",
         count(*) FILTER (WHERE status = ANY($3::text[]))::int AS "sent",
         count(*) FILTER (WHERE status IN ('delivered', 'complained'))::int AS "delivered",
         count(*) FILTER (WHERE status = 'bounced')::int AS "hardBounced",
         count(*) FILTER (WHERE status = 'complained')::int AS "complained"
  FROM sends WHERE campaign_id = $1 AND client_id = $2 AND variant_template_id IS NOT NULL
  GROUP BY step, variant_template_id`;

const VARIANT_EVENTS = `
  SELECT s.step, s.variant_template_id AS "templateId",
         count(DISTINCT s.id) FILTER (WHERE e.type = 'replied')::int AS "replied",
         count(DISTINCT s.id) FILTER (WHERE e.type = 'auto_replied')::int AS "autoReplied",
         count(DISTINCT s.id) FILTER (WHERE e.type = 'soft_bounced' AND s.status <> 'bounced')::int AS "softBounced"
  FROM sends s JOIN events e ON e.send_id = s.id AND e.client_id = s.client_id
  WHERE s.campaign_id = $1 AND s.client_id = $2 AND s.variant_template_id IS NOT NULL
    AND e.send_id IS NOT NULL AND e.type IN ('replied', 'auto_replied', 'soft_bounced')
  GROUP BY s.step, s.variant_template_id`;

const VARIANT_ENGAGEMENTS = `
  SELECT s.step, s.variant_template_id AS "templateId",
         count(*) FILTER (WHERE opened)::int AS "opened",
         count(*) FILTER (WHERE clicked)::int AS "clicked",
         count(*) FILTER (WHERE prefetch_opened AND NOT opened)::int AS "prefetchOpened",
         count(*) FILTER (WHERE prefetch_clicked AND NOT clicked)::int AS "prefetchClicked"
  FROM (SELECT send_id,
               bool_or(kind = 'open' AND NOT prefetch) AS opened,
               bool_or(kind = 'open' AND prefetch) AS prefetch_opened,
               bool_or(kind = 'click' AND NOT prefetch) AS clicked,
               bool_or(kind = 'click' AND prefetch) AS prefetch_clicked
        FROM engagements WHERE campaign_id = $1 AND client_id = $2
        GROUP BY send_id) per_send
  JOIN sends s ON s.id = per_send.send_id AND s.variant_template_id IS NOT NULL
  GROUP BY s.step, s.variant_template_id`;

/** An unsubscribed lead counts on the variant of the last step it was sent (as the step figures count it). */
const VARIANT_UNSUBSCRIBES = `
  SELECT last.step, last.variant_template_id AS "templateId", count(*)::int AS "unsubscribed"
  FROM leads l
  CROSS JOIN LATERAL (
    SELECT s.step, s.variant_template_id FROM sends s WHERE s.lead_id = l.id AND s.status = ANY($3::text[]) ORDER BY s.step DESC LIMIT 1
  ) last
  WHERE l.campaign_id = $1 AND l.client_id = $2 AND l.status = 'unsubscribed' AND last.variant_template_id IS NOT NULL
  GROUP BY last.step, last.variant_template_id`;

/** Counts per (step, variant template) of the campaign's variant sends: key `${step}:${templateId}`. */
export async function campaignVariantCounts(pool: Pool, clientId: string, campaignId: string): Promise<Map<string, StepCounts>> {
  const args = [campaignId, clientId];
  const sets = await Promise.all([
    pool.query(VARIANT_SENDS, [...args, WENT_OUT]),
    pool.query(VARIANT_EVENTS, args),
    pool.query(VARIANT_ENGAGEMENTS, args),
    pool.query(VARIANT_UNSUBSCRIBES, [...args, WENT_OUT]),
  ]);
  const out = new Map<string, StepCounts>();
  for (const { rows } of sets) {
    for (const { step, templateId, ...figures } of rows as ({ step: number; templateId: string } & Partial<StepCounts>)[]) {
      const key = `${step}:${templateId}`;
      out.set(key, Object.assign(out.get(key) ?? { ...EMPTY_COUNTS }, figures));
    }
  }
  return out;
}
