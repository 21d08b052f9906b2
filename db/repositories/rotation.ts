import type { Pool } from 'pg';
import { withTransaction } from '../pool';
import { logRotation, rotateProviderOrder } from './reputation';

/** The agency's own mailboxes and domains (no client) rotate under this scope name. */
export const AGENCY_SCOPE = 'agency';

export interface RotationScope {
  /** A client id, or AGENCY_SCOPE. */
  scope: string;
  clientId: string | null;
  /** IANA zone of its rotation hour. */
  timezone: string;
  /** The last local date it rotated on (YYYY-MM-DD), if ever. */
  lastRotatedOn: string | null;
}

/** Every rotation scope: the agency's (in `agencyTimezone`) and each client's (in its own zone). */
export async function rotationScopes(pool: Pool, agencyTimezone: string): Promise<RotationScope[]> {
  const { rows } = await pool.query<{ scope: string; client_id: string | null; timezone: string; last: string | null }>(
    `WITH last AS (SELECT scope, to_char(max(local_date), 'YYYY-MM-DD') AS last FROM rotation_days GROUP BY scope)
     SELECT $1::text AS scope, NULL::uuid AS client_id, $2::text AS timezone, (SELECT last FROM last WHERE scope = $1) AS last
     UNION ALL
     SELECT c.id::text, c.id, c.timezone, l.last FROM clients c LEFT JOIN last l ON l.scope = c.id::text
     ORDER BY 1`,
    [AGENCY_SCOPE, agencyTimezone],
  );
  return rows.map((r) => ({ scope: r.scope, clientId: r.client_id, timezone: r.timezone, lastRotatedOn: r.last }));
}

export interface ScopeRotation {
  providers: { pools: number; mailboxes: number };
  configurationSets: number;
}

/**
 * Rotates one scope for one local day, in one transaction: its mailboxes'
 * provider order moves one place on, and each of its in-rotation domains with
 * several SES configuration sets moves to the next set (dedicated IP pool).
 * The (scope, local date) row makes it once a day: null when that day was
 * already rotated.
 */
export async function rotateScope(
  pool: Pool,
  runId: string,
  scope: { scope: string; clientId: string | null; localDate: string },
): Promise<ScopeRotation | null> {
  return withTransaction(pool, async (db) => {
    const claimed = await db.query(
      'INSERT INTO rotation_days (scope, local_date, run_id) VALUES ($1, $2, $3) ON CONFLICT (scope, local_date) DO NOTHING',
      [scope.scope, scope.localDate, runId],
    );
    if (claimed.rowCount === 0) return null;

    const changed = await rotateProviderOrder(db, scope.clientId);
    for (const c of changed) {
      await logRotation(db, runId, 'providers_rotated', 'pool', `${c.clientId ?? AGENCY_SCOPE}/${c.pool}`, { mailboxes: c.mailboxes, localDate: scope.localDate });
    }
    const { rows: sets } = await db.query<{ id: string; from: string | null; to: string }>(
      `WITH next AS (
         SELECT id, configuration_set AS from_set,
                configuration_sets[coalesce(array_position(configuration_sets, configuration_set), 0) % cardinality(configuration_sets) + 1] AS to_set
         FROM sending_domains
         WHERE client_id IS NOT DISTINCT FROM $1::uuid AND in_rotation AND cardinality(configuration_sets) >= 2
         FOR UPDATE)
       UPDATE sending_domains d SET configuration_set = n.to_set FROM next n
       WHERE d.id = n.id AND d.configuration_set IS DISTINCT FROM n.to_set
       RETURNING d.id, n.from_set AS "from", n.to_set AS "to"`,
      [scope.clientId],
    );
    for (const s of sets) {
      await logRotation(db, runId, 'configuration_set_rotated', 'domain', s.id, { from: s.from, to: s.to, localDate: scope.localDate });
    }
    return { providers: { pools: changed.length, mailboxes: changed.reduce((n, c) => n + c.mailboxes, 0) }, configurationSets: sets.length };
  });
}
