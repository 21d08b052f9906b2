import type { Pool, PoolClient } from 'pg';
import { uuidv7 } from '../../core/ids';
import { MAILBOX_DOMAIN_USABLE } from './domains';
import type { MailboxRuleSettings, MailboxSample } from '../../workflows/policy/mailbox-reputation';
import type { DomainStats, MailboxStats, ProviderStats } from '../../workflows/policy/reputation';

type Db = Pool | PoolClient;

/** Send statuses the controller counts: every send that left, and every send that failed. */
const COUNTED = `('sent', 'delivered', 'bounced', 'complained', 'failed')`;
const COUNTS = `count(*)::int AS sends,
  count(*) FILTER (WHERE s.status = 'bounced')::int AS bounced,
  count(*) FILTER (WHERE s.status = 'complained')::int AS complained,
  count(*) FILTER (WHERE s.status = 'failed')::int AS failed`;

interface CountRow {
  sends: number;
  bounced: number;
  complained: number;
  failed: number;
}

/** The statuses of a mailbox's sends that went out: the one reputation rule's sample. */
const SAMPLED = `('sent', 'delivered', 'bounced', 'complained', 'unknown')`;
/** When a send went out (a send-time bounce is stamped when it was refused; an unknown one when its intent was written). */
const SENT_AT = 'coalesce(s.sent_at, s.created_at)';
/** Alerts that end a mailbox's sample: a verdict of the rule, from the feedback path or the controller. */
export const MAILBOX_VERDICT_ALERTS = ['mailbox_bounce_rate', 'mailbox_complaint_rate', 'mailbox_rested'];

/**
 * Where a mailbox's sample starts: the rule's window back from now, or its
 * last verdict (a rate alert or a rest), or its last return from rest,
 * whichever is latest. `$1` is the window in ms, `$2` the verdict kinds,
 * `mb` the mailbox's id column.
 */
const SAMPLE_SINCE = (mb: string) => `greatest(
  now() - make_interval(secs => $1::double precision / 1000),
  (SELECT max(a.created_at) FROM alerts a WHERE a.subject_type = 'mailbox' AND a.subject_id = ${mb}::text AND a.kind = ANY($2::text[])),
  (SELECT max(r.returned_at) FROM mailbox_rests r WHERE r.mailbox_id = ${mb}))`;

const SAMPLE_COUNTS = (mb: string, since: string) => `SELECT count(*)::int AS sends,
    count(*) FILTER (WHERE s.status = 'bounced')::int AS bounced,
    count(*) FILTER (WHERE s.status = 'complained')::int AS complained
  FROM sends s WHERE s.mailbox_id = ${mb} AND s.status IN ${SAMPLED} AND ${SENT_AT} > ${since}`;

/**
 * One mailbox's sample for the rule (workflows/policy/mailbox-reputation.ts):
 * its sends that went out since its sample started, with their hard bounces
 * and complaints. The feedback path asks this after every bounce and
 * complaint; the controller reads the same for many mailboxes (mailboxStats).
 */
export async function mailboxSample(db: Db, mailboxId: string, windowMs: number): Promise<MailboxSample> {
  const { rows } = await db.query<MailboxSample>(
    `WITH since AS (SELECT ${SAMPLE_SINCE('$3::uuid')} AS at) ${SAMPLE_COUNTS('$3::uuid', '(SELECT at FROM since)')}`,
    [windowMs, MAILBOX_VERDICT_ALERTS, mailboxId],
  );
  return rows[0] ?? { sends: 0, bounced: 0, complained: 0 };
}

/**
 * Mailboxes with a verdict to give, one page in id order: those whose sample
 * holds at least `minEvents` bounces or complaints (only they can breach;
 * found through the bounced and complained sends of the window, so a healthy
 * fleet costs an index scan of nothing), and those on a timed rest.
 */
export async function mailboxStats(
  pool: Pool,
  rule: Pick<MailboxRuleSettings, 'windowMs' | 'minBounces' | 'minComplaints'>,
  page: { afterId: string | null; limit: number } = { afterId: null, limit: 1000 },
): Promise<MailboxStats[]> {
  const { rows } = await pool.query<MailboxSample & {
    id: string; client_id: string | null; status: MailboxStats['status']; reason: string | null; rest_until: Date | null;
  }>(
    `WITH flagged AS (
       SELECT DISTINCT s.mailbox_id AS id FROM sends s
       WHERE s.status IN ('bounced', 'complained') AND s.mailbox_id IS NOT NULL
         AND ${SENT_AT} > now() - make_interval(secs => $1::double precision / 1000)
         AND ($5::uuid IS NULL OR s.mailbox_id > $5)),
     judged AS (
       SELECT f.id, c.sends, c.bounced, c.complained FROM flagged f
       CROSS JOIN LATERAL (SELECT ${SAMPLE_SINCE('f.id')} AS at) since
       CROSS JOIN LATERAL (${SAMPLE_COUNTS('f.id', 'since.at')}) c)
     SELECT m.id, m.client_id, m.status, coalesce(j.sends, 0) AS sends, coalesce(j.bounced, 0) AS bounced,
            coalesce(j.complained, 0) AS complained, r.reason, r.rest_until
     FROM mailboxes m
     LEFT JOIN judged j ON j.id = m.id
     LEFT JOIN mailbox_rests r ON r.mailbox_id = m.id AND r.kind = 'rest' AND r.returned_at IS NULL
     WHERE ((r.id IS NULL AND (j.bounced >= $3 OR j.complained >= $4)) OR (r.id IS NOT NULL AND r.rest_until IS NOT NULL))
       AND ($5::uuid IS NULL OR m.id > $5)
     ORDER BY m.id
     LIMIT $6`,
    [rule.windowMs, MAILBOX_VERDICT_ALERTS, rule.minBounces, rule.minComplaints, page.afterId, page.limit],
  );
  return rows.map((r) => ({
    mailboxId: r.id,
    clientId: r.client_id,
    status: r.status,
    sends: r.sends,
    bounced: r.bounced,
    complained: r.complained,
    rest: r.reason !== null ? { reason: r.reason, restUntil: r.rest_until ? r.rest_until.getTime() : null } : null,
  }));
}

/**
 * Verified domains in rotation, with the sends of their owner's mailboxes at
 * that domain (another owner's mailboxes there are not this domain's to judge).
 */
export async function domainStats(pool: Pool, windowMs: number): Promise<DomainStats[]> {
  const { rows } = await pool.query<CountRow & { id: string; client_id: string | null }>(
    `SELECT d.id, d.client_id, ${COUNTS}
     FROM sending_domains d
     JOIN mailboxes m ON lower(split_part(m.address, '@', 2)) = d.domain AND m.client_id IS NOT DISTINCT FROM d.client_id
     JOIN sends s ON s.mailbox_id = m.id
     WHERE d.in_rotation AND d.verified_at IS NOT NULL AND s.status IN ${COUNTED}
       AND coalesce(s.sent_at, s.updated_at) > now() - make_interval(secs => $1::double precision / 1000)
     GROUP BY d.id, d.client_id
     ORDER BY d.id`,
    [windowMs],
  );
  return rows.map((r) => ({ domainId: r.id, clientId: r.client_id, inRotation: true, sends: r.sends, bounced: r.bounced, complained: r.complained, failed: r.failed }));
}

/**
 * Provider accounts with attempts over the window, with their breaker state.
 * Only attempts since the breaker last changed state count: a provider back
 * from a switch is judged on what it did since.
 */
export async function providerStats(pool: Pool, windowMs: number): Promise<ProviderStats[]> {
  const { rows } = await pool.query<{ id: string; attempts: number; failures: number; state: ProviderStats['breaker'] | null }>(
    `SELECT a.provider_account_id AS id, count(*)::int AS attempts, count(*) FILTER (WHERE NOT a.ok)::int AS failures, h.state
     FROM provider_attempts a LEFT JOIN provider_health h ON h.provider_account_id = a.provider_account_id
     WHERE a.at > now() - make_interval(secs => $1::double precision / 1000)
       AND a.at > coalesce(h.updated_at, '-infinity'::timestamptz)
     GROUP BY a.provider_account_id, h.state
     ORDER BY a.provider_account_id`,
    [windowMs],
  );
  return rows.map((r) => ({ accountId: r.id, attempts: r.attempts, failures: r.failures, breaker: r.state ?? 'closed' }));
}

export type RestKind = 'rest' | 'dns' | 'domain';

/** Opens a rest of one kind; null when the mailbox already has one of that kind open. */
export async function openRest(pool: Pool, mailboxId: string, kind: RestKind, reason: string, restUntil: Date | null): Promise<string | null> {
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO mailbox_rests (id, mailbox_id, kind, reason, rest_until) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (mailbox_id, kind) WHERE returned_at IS NULL DO NOTHING RETURNING id`,
    [uuidv7(), mailboxId, kind, reason, restUntil],
  );
  return rows[0]?.id ?? null;
}

/** Closes a mailbox's open rest of that kind; returns whether it had one. */
export async function closeRest(pool: Pool, mailboxId: string, kind: RestKind): Promise<boolean> {
  const { rowCount } = await pool.query('UPDATE mailbox_rests SET returned_at = now() WHERE mailbox_id = $1 AND kind = $2 AND returned_at IS NULL', [mailboxId, kind]);
  return (rowCount ?? 0) > 0;
}

/**
 * Mailboxes whose timed rest is over, or whose domain rest ended (their
 * owner's claim on the domain is verified again, back in rotation and
 * passing its DNS check: MAILBOX_DOMAIN_USABLE).
 */
export async function restsDue(pool: Pool, limit = 1000): Promise<{ mailboxId: string; kind: RestKind; reason: string }[]> {
  const { rows } = await pool.query<{ mailbox_id: string; kind: RestKind; reason: string }>(
    `SELECT r.mailbox_id, r.kind, r.reason FROM mailbox_rests r JOIN mailboxes m ON m.id = r.mailbox_id
     WHERE r.returned_at IS NULL
       AND ((r.rest_until IS NOT NULL AND r.rest_until <= now())
         OR (r.rest_until IS NULL AND ${MAILBOX_DOMAIN_USABLE}))
     ORDER BY r.rested_at LIMIT $1`,
    [limit],
  );
  return rows.map((r) => ({ mailboxId: r.mailbox_id, kind: r.kind, reason: r.reason }));
}

/**
 * Mailboxes at a claim's domain that belong to the claim's owner and have no
 * open rest of this kind (to rest with the domain), paused or not: a
 * hand-paused mailbox gets the reason too, so resuming it by hand leaves it
 * resting. Another owner's mailboxes at the same name are never the claim's.
 */
export async function mailboxesOfDomainNotResting(pool: Pool, domainId: string, kind: RestKind): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(
    `SELECT m.id FROM mailboxes m
     JOIN sending_domains d ON d.domain = lower(split_part(m.address, '@', 2)) AND m.client_id IS NOT DISTINCT FROM d.client_id
     WHERE d.id = $1 AND m.status <> 'disabled'
       AND NOT EXISTS (SELECT 1 FROM mailbox_rests r WHERE r.mailbox_id = m.id AND r.kind = $2 AND r.returned_at IS NULL)
     ORDER BY m.id`,
    [domainId, kind],
  );
  return rows.map((r) => r.id);
}

export async function mailboxAddress(pool: Db, mailboxId: string): Promise<{ address: string; clientId: string | null; status: string } | null> {
  const { rows } = await pool.query<{ address: string; client_id: string | null; status: string }>(
    'SELECT address, client_id, status FROM mailboxes WHERE id = $1',
    [mailboxId],
  );
  return rows[0] ? { address: rows[0].address, clientId: rows[0].client_id, status: rows[0].status } : null;
}

export async function logRotation(
  pool: Pick<Pool, 'query'>,
  runId: string,
  action: string,
  subjectType: 'mailbox' | 'domain' | 'pool',
  subjectId: string,
  detail: Record<string, unknown> = {},
): Promise<void> {
  await pool.query('INSERT INTO rotation_log (id, run_id, action, subject_type, subject_id, detail) VALUES ($1, $2, $3, $4, $5, $6)', [
    uuidv7(),
    runId,
    action,
    subjectType,
    subjectId,
    JSON.stringify(detail),
  ]);
}

export interface RotationLogRow {
  id: string;
  runId: string;
  action: string;
  detail: Record<string, unknown>;
  at: Date;
}

/** The latest `limit` rotation log rows about one subject (a domain's checks and configuration-set moves), newest first. */
export async function rotationHistory(
  pool: Pick<Pool, 'query'>,
  subjectType: 'mailbox' | 'domain' | 'pool',
  subjectId: string,
  limit: number,
): Promise<RotationLogRow[]> {
  const { rows } = await pool.query<RotationLogRow>(
    `SELECT id, run_id AS "runId", action, detail, at FROM rotation_log WHERE subject_type = $1 AND subject_id = $2
     ORDER BY at DESC, id DESC LIMIT $3`,
    [subjectType, subjectId, limit],
  );
  return rows;
}

/**
 * Rotates the provider order of every mailbox of one rotation scope (a
 * client's, or with clientId null the agency's own) with two or more
 * providers by one place (the primary moves to the end), in one statement;
 * accounts whose breaker is not closed stay behind the healthy ones. Returns
 * how many mailboxes changed, per pool.
 */
export async function rotateProviderOrder(db: Pick<Pool, 'query'>, clientId: string | null): Promise<{ clientId: string | null; pool: string; mailboxes: number }[]> {
  const { rows } = await db.query<{ client_id: string | null; pool: string; n: number }>(
    `WITH rotated AS (
       SELECT m.id,
              ARRAY(SELECT u.pid FROM unnest(m.provider_ids[2:] || m.provider_ids[1:1]) WITH ORDINALITY AS u(pid, ord)
                    LEFT JOIN provider_health h ON h.provider_account_id = u.pid
                    ORDER BY (coalesce(h.state, 'closed') <> 'closed'), u.ord) AS ids
       FROM mailboxes m
       WHERE cardinality(m.provider_ids) >= 2 AND m.status <> 'disabled' AND m.client_id IS NOT DISTINCT FROM $1::uuid),
     changed AS (
       UPDATE mailboxes m SET provider_ids = r.ids FROM rotated r
       WHERE m.id = r.id AND m.provider_ids IS DISTINCT FROM r.ids
       RETURNING m.client_id, m.pool)
     SELECT client_id, pool, count(*)::int AS n FROM changed GROUP BY client_id, pool ORDER BY pool`,
    [clientId],
  );
  return rows.map((r) => ({ clientId: r.client_id, pool: r.pool, mailboxes: r.n }));
}
