/**
 * A campaign's figures per step, computed by SQL over its rows: one query per
 * figure set, each selecting the campaign's rows by an index on the campaign
 * (sends_campaign_status_idx, engagements_campaign_idx,
 * leads_campaign_status_idx; PostgreSQL reads the table whole instead when the
 * campaign is a large share of it) and reaching events through the partial
 * index of migration 021, never a read of every event. Every query is also
 * bound to the client. npm run bench:stats measures a 100,000-lead campaign.
 */
import type { Pool } from 'pg';

export interface StepCounts {
  sent: number;
  delivered: number;
  hardBounced: number;
  softBounced: number;
  complained: number;
  opened: number;
  clicked: number;
  prefetchOpened: number;
  prefetchClicked: number;
  replied: number;
  autoReplied: number;
  unsubscribed: number;
}

export const EMPTY_COUNTS: StepCounts = {
  sent: 0, delivered: 0, hardBounced: 0, softBounced: 0, complained: 0, opened: 0, clicked: 0,
  prefetchOpened: 0, prefetchClicked: 0, replied: 0, autoReplied: 0, unsubscribed: 0,
};

/** Statuses of a mail that went out (or may have: unknown is never re-sent and its sequence goes on). */
export const WENT_OUT = ['sent', 'delivered', 'bounced', 'complained', 'unknown'];

const SENDS = `
  SELECT step,
         count(*) FILTER (WHERE status = ANY($3::text[]))::int AS "sent",
         count(*) FILTER (WHERE status IN ('delivered', 'complained'))::int AS "delivered",
         count(*) FILTER (WHERE status = 'bounced')::int AS "hardBounced",
         count(*) FILTER (WHERE status = 'complained')::int AS "complained"
  FROM sends WHERE campaign_id = $1 AND client_id = $2
  GROUP BY step`;

/** Replies and auto-replies (events of the reply ingestion, matched to a send) and soft bounces, one send counted once. */
const EVENTS = `
  SELECT s.step,
         count(DISTINCT s.id) FILTER (WHERE e.type = 'replied')::int AS "replied",
         count(DISTINCT s.id) FILTER (WHERE e.type = 'auto_replied')::int AS "autoReplied",
         count(DISTINCT s.id) FILTER (WHERE e.type = 'soft_bounced' AND s.status <> 'bounced')::int AS "softBounced"
  FROM sends s JOIN events e ON e.send_id = s.id AND e.client_id = s.client_id
  WHERE s.campaign_id = $1 AND s.client_id = $2
    AND e.send_id IS NOT NULL AND e.type IN ('replied', 'auto_replied', 'soft_bounced')
  GROUP BY s.step`;

/** A person's open or click counts the send once; a send whose only ones were prefetches is counted apart. */
const ENGAGEMENTS = `
  SELECT step,
         count(*) FILTER (WHERE opened)::int AS "opened",
         count(*) FILTER (WHERE clicked)::int AS "clicked",
         count(*) FILTER (WHERE prefetch_opened AND NOT opened)::int AS "prefetchOpened",
         count(*) FILTER (WHERE prefetch_clicked AND NOT clicked)::int AS "prefetchClicked"
  FROM (SELECT step, send_id,
               bool_or(kind = 'open' AND NOT prefetch) AS opened,
               bool_or(kind = 'open' AND prefetch) AS prefetch_opened,
               bool_or(kind = 'click' AND NOT prefetch) AS clicked,
               bool_or(kind = 'click' AND prefetch) AS prefetch_clicked
        FROM engagements WHERE campaign_id = $1 AND client_id = $2
        GROUP BY step, send_id) per_send
  GROUP BY step`;

/**
 * Unsubscribed leads (by their link or a provider's event: the lead's
 * status), each on the last step it was sent: an unsubscribe link names
 * the lead, not the mail it was clicked in.
 */
const UNSUBSCRIBES = `
  SELECT last.step, count(*)::int AS "unsubscribed"
  FROM leads l
  CROSS JOIN LATERAL (
    SELECT s.step FROM sends s WHERE s.lead_id = l.id AND s.status = ANY($3::text[]) ORDER BY s.step DESC LIMIT 1
  ) last
  WHERE l.campaign_id = $1 AND l.client_id = $2 AND l.status = 'unsubscribed'
  GROUP BY last.step`;

/** Counts per step (index = step) for steps 0..stepCount-1; steps without rows are zeros. */
export async function campaignStepCounts(pool: Pool, clientId: string, campaignId: string, stepCount: number): Promise<StepCounts[]> {
  const out = Array.from({ length: stepCount }, () => ({ ...EMPTY_COUNTS }));
  const args = [campaignId, clientId];
  const sets = await Promise.all([
    pool.query(SENDS, [...args, WENT_OUT]),
    pool.query(EVENTS, args),
    pool.query(ENGAGEMENTS, args),
    pool.query(UNSUBSCRIBES, [...args, WENT_OUT]),
  ]);
  for (const { rows } of sets) {
    for (const { step, ...figures } of rows as ({ step: number } & Partial<StepCounts>)[]) {
      if (out[step]) Object.assign(out[step], figures);
    }
  }
  return out;
}

/** The figure queries by name, for npm run bench:stats to explain. */
export const SQL = { sends: SENDS, events: EVENTS, engagements: ENGAGEMENTS, unsubscribes: UNSUBSCRIBES };
