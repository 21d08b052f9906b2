import type { Pool, PoolClient } from 'pg';
import type { PrefetchReason } from '../../core/tracking/prefetch';

type Db = Pool | PoolClient;

/** The links of a send's message that point at the click route, in index order (stored before the provider is called). */
export async function setTrackedLinks(db: Db, sendId: string, links: string[]): Promise<void> {
  await db.query('UPDATE sends SET tracked_links = $2 WHERE id = $1', [sendId, links]);
}

export interface TrackedSend {
  campaignId: string;
  step: number;
  sentAt: Date | null;
  /** The link stored under the asked index; null when there is none (or no index was asked). */
  url: string | null;
}

/** The send a tracking token names, only if it is that client's: another client's send is not found. */
export async function trackedSend(db: Db, clientId: string, sendId: string, linkIndex: number | null): Promise<TrackedSend | null> {
  const { rows } = await db.query<TrackedSend>(
    `SELECT campaign_id AS "campaignId", step, sent_at AS "sentAt",
            CASE WHEN $3::int IS NULL THEN NULL ELSE tracked_links[$3::int + 1] END AS url
     FROM sends WHERE id = $1 AND client_id = $2`,
    [sendId, clientId, linkIndex],
  );
  return rows[0] ?? null;
}

export interface EngagementHit {
  sendId: string;
  clientId: string;
  campaignId: string;
  step: number;
  kind: 'open' | 'click';
  /** -1 for an open. */
  linkIndex: number;
  prefetch: PrefetchReason | null;
}

/** One request: the first of its kind makes the row, later ones count hits. True when it was the first. */
export async function recordEngagement(db: Db, e: EngagementHit): Promise<boolean> {
  const { rows } = await db.query<{ first: boolean }>(
    `INSERT INTO engagements (send_id, client_id, campaign_id, step, kind, link_index, prefetch, prefetch_reason)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (send_id, kind, link_index, prefetch) DO UPDATE SET hits = engagements.hits + 1, last_at = now()
     RETURNING (xmax = 0) AS first`,
    [e.sendId, e.clientId, e.campaignId, e.step, e.kind, e.linkIndex, e.prefetch !== null, e.prefetch],
  );
  return rows[0]?.first ?? false;
}
