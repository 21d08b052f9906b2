import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { migrate } from '../../db/migrate';
import { createPool } from '../../db/pool';

/** Creates a fresh database migrated with `migrationsDir` (default: every migration); returns its URL and a drop function. */
export async function createTestDatabase(
  adminUrl: string,
  prefix = 'outreach_test',
  opts: { migrationsDir?: string } = {},
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${Date.now()}_${randomBytes(3).toString('hex')}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  const pool = createPool(url, 1);
  try {
    await migrate(pool, opts.migrationsDir);
  } finally {
    await pool.end();
  }
  return {
    url,
    async drop() {
      const c = new Client({ connectionString: adminUrl });
      await c.connect();
      try {
        // FORCE ends our own sessions but not a superuser's: an autovacuum worker on the database refuses
        // the drop (42501, seen once in a full run) until it finishes, in a moment.
        for (let attempt = 1; ; attempt++) {
          try {
            await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
            break;
          } catch (err) {
            if ((err as { code?: string }).code !== '42501' || attempt >= 50) throw err;
            await new Promise((r) => setTimeout(r, 200));
          }
        }
      } finally {
        await c.end();
      }
    },
  };
}
