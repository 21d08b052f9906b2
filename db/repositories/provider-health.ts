import type { Pool } from 'pg';
import { uuidv7 } from '../../core/ids';
import type { BreakerRow, BreakerState } from '../../core/types';

export async function breakerRows(pool: Pool, ids: string[]): Promise<Map<string, BreakerRow>> {
  const { rows } = await pool.query<{ id: string; state: BreakerState; probe_at: Date | null }>(
    'SELECT provider_account_id AS id, state, probe_at FROM provider_health WHERE provider_account_id = ANY($1::uuid[])',
    [ids],
  );
  return new Map(rows.map((r) => [r.id, { state: r.state, probeAt: r.probe_at ? r.probe_at.getTime() : null }]));
}

export async function recordAttempt(pool: Pool, accountId: string, ok: boolean, errorClass: string | null): Promise<void> {
  await pool.query('INSERT INTO provider_attempts (provider_account_id, ok, error_class) VALUES ($1, $2, $3)', [
    accountId,
    ok,
    errorClass,
  ]);
}

/** Attempts and failures over the window (the newest 1,000 at most). */
export async function windowStats(pool: Pool, accountId: string, windowMs: number): Promise<{ attempts: number; failures: number }> {
  const { rows } = await pool.query<{ attempts: number; failures: number }>(
    `SELECT count(*)::int AS attempts, count(*) FILTER (WHERE NOT ok)::int AS failures FROM (
       SELECT ok FROM provider_attempts
       WHERE provider_account_id = $1 AND at > now() - make_interval(secs => $2::double precision / 1000)
       ORDER BY at DESC LIMIT 1000) w`,
    [accountId, windowMs],
  );
  return rows[0]!;
}

/**
 * Compare-and-set on the breaker state; on a change, writes the
 * provider_switches row in the same transaction. Returns whether it changed
 * (another worker may have got there first).
 */
export async function transitionBreaker(
  pool: Pool,
  accountId: string,
  from: BreakerState[],
  to: BreakerState,
  reason: string,
  probeAt: Date | null,
  probeOwner: string | null = null,
): Promise<boolean> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      'INSERT INTO provider_health (provider_account_id) VALUES ($1) ON CONFLICT (provider_account_id) DO NOTHING',
      [accountId],
    );
    const { rows } = await client.query<{ previous: BreakerState }>(
      `UPDATE provider_health h SET state = $3, probe_at = $4, probe_owner = $5,
         opened_at = CASE WHEN $3 = 'open' AND h.state = 'closed' THEN now() ELSE h.opened_at END, updated_at = now()
       FROM (SELECT state AS previous FROM provider_health WHERE provider_account_id = $1 FOR UPDATE) p
       WHERE h.provider_account_id = $1 AND h.state = ANY($2::text[])
         AND ($3 <> 'half_open' OR h.probe_at <= now())
       RETURNING p.previous`,
      [accountId, from, to, probeAt, probeOwner],
    );
    const previous = rows[0]?.previous;
    if (previous !== undefined && previous !== to) {
      await client.query(
        'INSERT INTO provider_switches (id, provider_account_id, from_state, to_state, reason) VALUES ($1, $2, $3, $4, $5)',
        [uuidv7(), accountId, previous, to, reason],
      );
    }
    await client.query('COMMIT');
    return previous !== undefined && previous !== to;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/**
 * Takes the single half-open probe: from an open breaker whose cool-off is
 * over, or from a half-open one whose probe lease ran out (its holder died
 * mid-probe; a half-open row without a lease counts as expired). Row-locked
 * compare-and-set, so exactly one send gets it; open → half_open writes the
 * provider_switches row in the same transaction. Returns what was taken.
 */
export async function takeProbe(
  pool: Pool,
  accountId: string,
  owner: string,
  leaseUntil: Date,
): Promise<'probe' | 'expired_probe' | null> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ previous: BreakerState }>(
      `UPDATE provider_health h SET state = 'half_open', probe_at = $3, probe_owner = $2, updated_at = now()
       FROM (SELECT state AS previous FROM provider_health WHERE provider_account_id = $1 FOR UPDATE) p
       WHERE h.provider_account_id = $1 AND h.state IN ('open', 'half_open')
         AND (h.probe_at <= now() OR (h.state = 'half_open' AND h.probe_at IS NULL))
       RETURNING p.previous`,
      [accountId, owner, leaseUntil],
    );
    const previous = rows[0]?.previous;
    if (previous === 'open') {
      await client.query(
        'INSERT INTO provider_switches (id, provider_account_id, from_state, to_state, reason) VALUES ($1, $2, $3, $4, $5)',
        [uuidv7(), accountId, 'open', 'half_open', 'probe after cool-off'],
      );
    }
    await client.query('COMMIT');
    return previous === 'open' ? 'probe' : previous === 'half_open' ? 'expired_probe' : null;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

export interface ProviderSwitchRow {
  id: string;
  providerId: string;
  provider: string;
  kind: string;
  fromState: BreakerState;
  toState: BreakerState;
  reason: string;
  at: Date;
}

/** A page of circuit-breaker transitions, newest first (by time, then id), after the switch `beforeId` in that order. */
export async function listProviderSwitches(
  pool: Pool,
  filter: { providerId?: string; toState?: BreakerState; beforeId?: string; limit: number },
): Promise<ProviderSwitchRow[]> {
  const { rows } = await pool.query<ProviderSwitchRow>(
    `SELECT s.id, s.provider_account_id AS "providerId", p.name AS provider, p.kind, s.from_state AS "fromState", s.to_state AS "toState",
            s.reason, s.at
     FROM provider_switches s JOIN provider_accounts p ON p.id = s.provider_account_id
     WHERE ($1::uuid IS NULL OR s.provider_account_id = $1) AND ($2::text IS NULL OR s.to_state = $2) AND ($3::uuid IS NULL OR (s.at, s.id) < (SELECT at, id FROM provider_switches WHERE id = $3))
     ORDER BY s.at DESC, s.id DESC LIMIT $4`,
    [filter.providerId ?? null, filter.toState ?? null, filter.beforeId ?? null, filter.limit],
  );
  return rows;
}
