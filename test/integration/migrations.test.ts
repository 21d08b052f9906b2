import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { migrate } from '../../db/migrate';
import { createPool } from '../../db/pool';
import { createTestDatabase } from '../helpers/databases';
import { testEnv } from '../helpers/test-env';

describe('migrations', () => {
  it('apply in order once, and again is a no-op', async () => {
    const db = await createTestDatabase(testEnv('adminDatabaseUrl'), 'outreach_migr'); // already migrated once
    const pool = createPool(db.url, 2);
    try {
      expect(await migrate(pool)).toEqual([]);
      const { rows } = await pool.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name');
      // Every file in db/migrations, each once, in name order (the first four named so an empty folder cannot pass).
      const files = (await readdir(path.join(__dirname, '../../db/migrations'))).filter((f) => f.endsWith('.sql')).sort();
      expect(files.slice(0, 4)).toEqual(['001_init.sql', '002_provider_health.sql', '003_sequences.sql', '004_send_slot.sql']);
      expect(rows.map((r) => r.name)).toEqual(files);
      const tables = await pool.query<{ t: string }>(
        "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
      );
      expect(tables.rows.map((r) => r.t)).toEqual(
        expect.arrayContaining(['clients', 'api_keys', 'provider_accounts', 'sending_domains', 'mailboxes', 'templates', 'campaigns', 'leads', 'sends', 'events', 'suppressions', 'provider_switches', 'alerts']),
      );
      // sends are unique per (lead, step)
      const uq = await pool.query("SELECT 1 FROM pg_constraint WHERE conname = 'sends_lead_step_uq'");
      expect(uq.rowCount).toBe(1);
    } finally {
      await pool.end();
      await db.drop();
    }
  });

  it('a failing migration rolls back, is not recorded, and fails the CLI with a non-zero exit', async () => {
    const db = await createTestDatabase(testEnv('adminDatabaseUrl'), 'outreach_migr');
    const pool = createPool(db.url, 2);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'migr-'));
    await writeFile(path.join(dir, '001_init.sql'), 'SELECT 1;');
    await writeFile(path.join(dir, '002_half.sql'), 'CREATE TABLE half_done (id int); SELECT * FROM no_such_table;');
    try {
      await expect(migrate(pool, dir)).rejects.toThrow(/002_half\.sql failed/);
      const half = await pool.query("SELECT 1 FROM information_schema.tables WHERE table_name = 'half_done'");
      expect(half.rowCount).toBe(0);
      const rec = await pool.query("SELECT 1 FROM schema_migrations WHERE name = '002_half.sql'");
      expect(rec.rowCount).toBe(0);
      const cli = spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, '../../db/migrate-cli.ts')], {
        env: { PATH: process.env.PATH, DATABASE_URL: 'postgres://nobody:wrong@127.0.0.1:1/none' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(cli.status).toBe(1);
      expect(cli.stderr).toMatch(/migration failed/);
    } finally {
      await pool.end();
      await db.drop();
    }
  });
});
