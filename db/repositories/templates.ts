import type { Pool } from 'pg';
import { uuidv7 } from '../../core/ids';

export interface TemplateRecord {
  id: string;
  clientId: string;
  name: string;
  subject: string;
  text: string;
  html: string | null;
  createdAt: Date;
}

const SELECT = `SELECT id, client_id AS "clientId", name, subject, body_text AS text, body_html AS html, created_at AS "createdAt" FROM templates`;

export async function createTemplate(
  pool: Pool,
  clientId: string,
  t: { name: string; subject: string; text: string; html?: string },
): Promise<TemplateRecord> {
  const { rows } = await pool.query<TemplateRecord>(
    `INSERT INTO templates (id, client_id, name, subject, body_text, body_html) VALUES ($1, $2, $3, $4, $5, $6)
     RETURNING id, client_id AS "clientId", name, subject, body_text AS text, body_html AS html, created_at AS "createdAt"`,
    [uuidv7(), clientId, t.name, t.subject, t.text, t.html ?? null],
  );
  return rows[0]!;
}

export async function getTemplate(pool: Pool, clientId: string, id: string): Promise<TemplateRecord | null> {
  const { rows } = await pool.query<TemplateRecord>(`${SELECT} WHERE id = $1 AND client_id = $2`, [id, clientId]);
  return rows[0] ?? null;
}

export async function listTemplates(pool: Pool, clientId: string, afterId: string | undefined, limit: number) {
  const { rows } = await pool.query<TemplateRecord>(
    `${SELECT} WHERE client_id = $1 AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3`,
    [clientId, afterId ?? null, limit],
  );
  return rows;
}

export async function countOwnedTemplates(pool: Pool, clientId: string, ids: string[]): Promise<Set<string>> {
  const { rows } = await pool.query<{ id: string }>(
    'SELECT id FROM templates WHERE client_id = $1 AND id = ANY($2::uuid[])',
    [clientId, ids],
  );
  return new Set(rows.map((r) => r.id));
}
