import type { Pool, PoolClient } from 'pg';
import { uuidv7 } from '../../core/ids';
import { hashEmail } from '../../core/privacy';
import { holdNewLeadsOfSample } from './staging';

export interface LeadRecord {
  id: string;
  clientId: string;
  campaignId: string;
  email: string;
  vars: Record<string, string | number | boolean>;
  status: string;
}

export interface NewLead {
  email: string;
  vars: Record<string, unknown>;
}

export interface InsertLeadsResult {
  accepted: number;
  duplicates: number;
  suppressed: number;
}

/**
 * Inserts leads for one campaign in one statement. Duplicates (already in the
 * campaign) are skipped; suppressed addresses are stored with status
 * 'suppressed' so the campaign counts them and never sends to them. The
 * leads travel as one JSON parameter through jsonb_to_recordset (100,000
 * rows is one round trip; see the measurement in the upload tests).
 */
export async function insertLeads(
  pool: Pool | PoolClient,
  clientId: string,
  campaignId: string,
  leads: NewLead[],
  privacyKey?: Buffer | null,
): Promise<InsertLeadsResult> {
  if (leads.length === 0) return { accepted: 0, duplicates: 0, suppressed: 0 };
  // An erased address (suppression_hashes, README "Privacy") is counted suppressed and not written at all.
  const { rows } = await pool.query<{ status: string; n: string }>(
    `WITH input AS (
       SELECT u.id, u.email, u.vars, u.h FROM jsonb_to_recordset($3::jsonb) AS u(id uuid, email text, vars jsonb, h text)
     ), erased AS (
       SELECT i.id FROM input i
       WHERE i.h IS NOT NULL AND EXISTS (
         SELECT 1 FROM suppression_hashes sh WHERE sh.email_hash = i.h AND (sh.client_id IS NULL OR sh.client_id = $1))
     ), ins AS (
       INSERT INTO leads (id, client_id, campaign_id, email, vars, status)
       SELECT i.id, $1, $2, i.email, i.vars,
              CASE WHEN s.email IS NULL THEN 'pending' ELSE 'suppressed' END
       FROM input i LEFT JOIN suppressions s ON s.client_id = $1 AND s.email = lower(i.email)
       WHERE i.id NOT IN (SELECT id FROM erased)
       ON CONFLICT DO NOTHING
       RETURNING status
     )
     SELECT status, count(*) AS n FROM ins GROUP BY status
     UNION ALL SELECT 'erased', count(*) FROM erased`,
    [clientId, campaignId, JSON.stringify(leads.map((l) => ({ id: uuidv7(), email: l.email, vars: l.vars, h: privacyKey ? hashEmail(privacyKey, l.email) : null })))],
  );
  const by = Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  const accepted = by.pending ?? 0;
  const suppressed = (by.suppressed ?? 0) + (by.erased ?? 0);
  return { accepted, suppressed, duplicates: leads.length - accepted - suppressed };
}

/** Campaign states that take new leads (awaiting_approval: a staged campaign's sample is done; they wait for the approval). */
export const LEAD_OPEN_STATUSES = ['draft', 'running', 'paused', 'awaiting_approval'];

/**
 * insertLeads in one transaction that first share-locks the campaign row, so
 * the campaign cannot complete or be cancelled while its leads are written.
 * Answers ok: false with the campaign's status (null: not this client's
 * campaign) when it takes no more leads; nothing is written then.
 */
export async function insertLeadsIfCampaignOpen(
  pool: Pool,
  clientId: string,
  campaignId: string,
  leads: NewLead[],
  privacyKey?: Buffer | null,
): Promise<{ ok: true; result: InsertLeadsResult } | { ok: false; status: string | null }> {
  const db = await pool.connect();
  try {
    await db.query('BEGIN');
    const { rows } = await db.query<{ status: string }>(
      'SELECT status FROM campaigns WHERE id = $1 AND client_id = $2 FOR SHARE',
      [campaignId, clientId],
    );
    const status = rows[0]?.status;
    if (!status || !LEAD_OPEN_STATUSES.includes(status)) {
      await db.query('ROLLBACK');
      return { ok: false, status: status ?? null };
    }
    const result = await insertLeads(db, clientId, campaignId, leads, privacyKey);
    await holdNewLeadsOfSample(db, campaignId); // a staged campaign before its approval: they wait for it
    await db.query('COMMIT');
    return { ok: true, result };
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    db.release();
  }
}

export async function getLead(pool: Pool, id: string): Promise<LeadRecord | null> {
  const { rows } = await pool.query<LeadRecord>(
    `SELECT id, client_id AS "clientId", campaign_id AS "campaignId", email, vars, status FROM leads WHERE id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

/** Leads by id, each with whether its address is on its client's suppression list now. */
export async function getLeads(pool: Pool, ids: string[]): Promise<(LeadRecord & { suppressed: boolean })[]> {
  const { rows } = await pool.query<LeadRecord & { suppressed: boolean }>(
    `SELECT l.id, l.client_id AS "clientId", l.campaign_id AS "campaignId", l.email, l.vars, l.status,
            (s.email IS NOT NULL) AS suppressed
     FROM leads l LEFT JOIN suppressions s ON s.client_id = l.client_id AND s.email = lower(l.email)
     WHERE l.id = ANY($1::uuid[])`,
    [ids],
  );
  return rows;
}

export async function setLeadStatus(pool: Pool, id: string, status: string, onlyFrom?: string[]): Promise<void> {
  await pool.query(
    `UPDATE leads SET status = $2 WHERE id = $1 AND ($3::text[] IS NULL OR status = ANY($3::text[]))`,
    [id, status, onlyFrom ?? null],
  );
}
