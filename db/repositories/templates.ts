import type { Pool, PoolClient } from 'pg';
import { uuidv7 } from '../../core/ids';
import { withTransaction } from '../pool';

type Db = Pool | PoolClient;

/** A template's content: what one version holds. */
export interface TemplateContent {
  name: string;
  subject: string;
  text: string;
  html: string | null;
}

export interface TemplateRecord extends TemplateContent {
  id: string;
  clientId: string;
  /** The latest version's number (1 at creation, one more per edit). */
  version: number;
  createdAt: Date;
  /** When the latest version was made (null: never edited). */
  updatedAt: Date | null;
}

/** One stored version of a template, as a campaign pins it. */
export interface TemplateVersion extends TemplateContent {
  id: string;
  templateId: string;
  version: number;
}

/** The versions a started campaign renders from: templateId → the version pinned at its start. */
export type PinnedTemplates = Record<string, { id: string; version: number }>;

const COLUMNS = `id, client_id AS "clientId", name, subject, body_text AS text, body_html AS html, version,
  created_at AS "createdAt", updated_at AS "updatedAt"`;
const SELECT = `SELECT ${COLUMNS} FROM templates`;

async function insertVersion(db: Db, templateId: string, version: number, t: TemplateContent): Promise<void> {
  await db.query(
    `INSERT INTO template_versions (id, template_id, version, name, subject, body_text, body_html) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [uuidv7(), templateId, version, t.name, t.subject, t.text, t.html],
  );
}

export async function createTemplate(
  pool: Pool,
  clientId: string,
  t: { name: string; subject: string; text: string; html?: string },
): Promise<TemplateRecord> {
  return withTransaction(pool, async (tx) => {
    const { rows } = await tx.query<TemplateRecord>(
      `INSERT INTO templates (id, client_id, name, subject, body_text, body_html) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
      [uuidv7(), clientId, t.name, t.subject, t.text, t.html ?? null],
    );
    await insertVersion(tx, rows[0]!.id, 1, rows[0]!);
    return rows[0]!;
  });
}

/** The client's template, latest version; a deleted one is gone. */
export async function getTemplate(pool: Db, clientId: string, id: string): Promise<TemplateRecord | null> {
  const { rows } = await pool.query<TemplateRecord>(`${SELECT} WHERE id = $1 AND client_id = $2 AND deleted_at IS NULL`, [id, clientId]);
  return rows[0] ?? null;
}

/**
 * What a campaign's step renders: the version the campaign pinned when it
 * started, else (a campaign started before versions were pinned) the latest.
 */
export async function getCampaignTemplate(
  pool: Db,
  clientId: string,
  templateId: string,
  pinned: PinnedTemplates | null,
): Promise<TemplateContent | null> {
  const pin = pinned?.[templateId];
  if (pin) {
    const { rows } = await pool.query<TemplateContent>(
      `SELECT v.name, v.subject, v.body_text AS text, v.body_html AS html
       FROM template_versions v JOIN templates t ON t.id = v.template_id
       WHERE v.id = $1 AND v.template_id = $2 AND t.client_id = $3`,
      [pin.id, templateId, clientId],
    );
    return rows[0] ?? null;
  }
  const { rows } = await pool.query<TemplateRecord>(`${SELECT} WHERE id = $1 AND client_id = $2`, [templateId, clientId]);
  return rows[0] ?? null;
}

export async function listTemplates(pool: Pool, clientId: string, afterId: string | undefined, limit: number) {
  const { rows } = await pool.query<TemplateRecord>(
    `${SELECT} WHERE client_id = $1 AND deleted_at IS NULL AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3`,
    [clientId, afterId ?? null, limit],
  );
  return rows;
}

export async function countOwnedTemplates(pool: Db, clientId: string, ids: string[]): Promise<Set<string>> {
  const { rows } = await pool.query<{ id: string }>(
    'SELECT id FROM templates WHERE client_id = $1 AND id = ANY($2::uuid[]) AND deleted_at IS NULL',
    [clientId, ids],
  );
  return new Set(rows.map((r) => r.id));
}

/**
 * A new version with this content (row-locked: two edits make two versions,
 * one after the other). Null when the client has no such template.
 */
export async function editTemplate(db: PoolClient, clientId: string, id: string, next: (current: TemplateRecord) => TemplateContent | Promise<TemplateContent>): Promise<TemplateRecord | null> {
  const { rows } = await db.query<TemplateRecord>(`${SELECT} WHERE id = $1 AND client_id = $2 AND deleted_at IS NULL FOR UPDATE`, [id, clientId]);
  const current = rows[0];
  if (!current) return null;
  const content = await next(current);
  const version = current.version + 1;
  const { rows: updated } = await db.query<TemplateRecord>(
    `UPDATE templates SET name = $3, subject = $4, body_text = $5, body_html = $6, version = $7, updated_at = now()
     WHERE id = $1 AND client_id = $2 RETURNING ${COLUMNS}`,
    [id, clientId, content.name, content.subject, content.text, content.html, version],
  );
  await insertVersion(db, id, version, content);
  return updated[0]!;
}

/** The template row, locked against an edit, a delete or a campaign start using it (null: none, or deleted). */
export async function lockTemplate(db: PoolClient, clientId: string, id: string): Promise<TemplateRecord | null> {
  const { rows } = await db.query<TemplateRecord>(`${SELECT} WHERE id = $1 AND client_id = $2 AND deleted_at IS NULL FOR UPDATE`, [id, clientId]);
  return rows[0] ?? null;
}

/** Running or paused campaigns of the client whose steps use the template (as a step's template or one of its variants). */
export async function liveCampaignsUsingTemplate(db: Db, clientId: string, id: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM campaigns WHERE client_id = $1 AND status IN ('running', 'paused')
       AND (steps @> jsonb_build_array(jsonb_build_object('templateId', $2::text))
            OR steps @> jsonb_build_array(jsonb_build_object('variants', jsonb_build_array(jsonb_build_object('templateId', $2::text)))))
     ORDER BY id LIMIT 20`,
    [clientId, id],
  );
  return rows.map((r) => r.id);
}

export async function softDeleteTemplate(db: Db, clientId: string, id: string): Promise<boolean> {
  const { rowCount } = await db.query('UPDATE templates SET deleted_at = now() WHERE id = $1 AND client_id = $2 AND deleted_at IS NULL', [id, clientId]);
  return rowCount === 1;
}

/**
 * The latest version of each template, locked FOR SHARE until the caller's
 * transaction ends (so no edit or delete slips between reading and pinning).
 * Deleted templates are left out.
 */
export async function latestVersionsForShare(db: PoolClient, clientId: string, ids: string[]): Promise<PinnedTemplates> {
  const { rows } = await db.query<{ templateId: string; id: string; version: number }>(
    `SELECT t.id AS "templateId", v.id, v.version
     FROM templates t JOIN template_versions v ON v.template_id = t.id AND v.version = t.version
     WHERE t.client_id = $1 AND t.id = ANY($2::uuid[]) AND t.deleted_at IS NULL
     FOR SHARE OF t`,
    [clientId, ids],
  );
  return Object.fromEntries(rows.map((r) => [r.templateId, { id: r.id, version: r.version }]));
}
