import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFile, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { importMailboxes } from '../../services/mailbox-import';
import { migrate, MIGRATIONS_DIR } from '../../db/migrate';
import { createPool } from '../../db/pool';
import { configurationSetFor, insertDomain } from '../../db/repositories/domains';
import { selectCampaignMailboxes } from '../../db/repositories/mailboxes';
import { openRest, restsDue } from '../../db/repositories/reputation';
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

  it('023: the columns no code wrote are gone', async () => {
    const db = await createTestDatabase(testEnv('adminDatabaseUrl'), 'outreach_migr');
    const pool = createPool(db.url, 2);
    try {
      const { rows } = await pool.query<{ c: string }>(
        `SELECT table_name || '.' || column_name AS c FROM information_schema.columns
         WHERE table_schema = 'public' AND (table_name, column_name) IN (('mailboxes', 'domain_id'), ('sending_domains', 'status'), ('provider_accounts', 'status'))`,
      );
      expect(rows).toEqual([]);
    } finally {
      await pool.end();
      await db.drop();
    }
  });

  it('024 (pause reasons): paused rows and open rests become reasons of their kind; a mailbox may rest for several kinds at once', async () => {
    const before = await mkdtemp(path.join(os.tmpdir(), 'migr-023-'));
    for (const f of (await readdir(MIGRATIONS_DIR)).filter((f) => /^\d{3}_.*\.sql$/.test(f) && f < '024')) {
      await copyFile(path.join(MIGRATIONS_DIR, f), path.join(before, f));
    }
    const db = await createTestDatabase(testEnv('adminDatabaseUrl'), 'outreach_migr', { migrationsDir: before });
    const pool = createPool(db.url, 2);
    try {
      const provider = randomUUID();
      await pool.query("INSERT INTO provider_accounts (id, name, kind, config_encrypted) VALUES ($1, 'relay', 'smtp', 'sealed')", [provider]);
      const mailbox = (address: string, status: string) => pool.query(
        `INSERT INTO mailboxes (id, client_id, address, pool, provider_ids, send_window, limits, status)
         VALUES (gen_random_uuid(), NULL, $1, 'p', ARRAY[$2::uuid], '{"days":["mon"],"start":"09:00","end":"17:00"}', '{}', $3) RETURNING id`,
        [address, provider, status],
      ).then((r) => r.rows[0].id as string);
      const rest = (mailboxId: string, reason: string, until: string | null, returned = false) => pool.query(
        `INSERT INTO mailbox_rests (id, mailbox_id, reason, rest_until, returned_at) VALUES (gen_random_uuid(), $1, $2, $3::timestamptz, $4::timestamptz)`,
        [mailboxId, reason, until, returned ? new Date().toISOString() : null],
      );
      const m = {
        sending: await mailbox('a@x.example.com', 'active'),
        byHand: await mailbox('b@x.example.com', 'paused'),
        dns: await mailbox('c@x.example.com', 'paused'),
        bounces: await mailbox('d@x.example.com', 'paused'),
        rotation: await mailbox('e@x.example.com', 'paused'),
        returned: await mailbox('f@x.example.com', 'active'),
      };
      await rest(m.dns, 'its sending domain failed its DNS check', null);
      await rest(m.bounces, 'bounce rate 6.00% over 120 sends (at least 3.21% at 95 % confidence)', '2030-01-01T00:00:00Z');
      await rest(m.rotation, 'its sending domain is out of rotation', null);
      await rest(m.returned, 'bounce rate 5.00% over 100 sends', '2026-01-01T00:00:00Z', true);

      expect(await migrate(pool)).toEqual(expect.arrayContaining(['024_pause_reasons.sql']));

      const kinds = new Map((await pool.query<{ mailbox_id: string; kind: string }>('SELECT mailbox_id, kind FROM mailbox_rests')).rows.map((r) => [r.mailbox_id, r.kind]));
      expect([kinds.get(m.dns), kinds.get(m.bounces), kinds.get(m.rotation), kinds.get(m.returned)]).toEqual(['dns', 'rest', 'domain', 'rest']);
      const rows = new Map((await pool.query<{ id: string; status: string; pause_reasons: { kind: string; reason: string; until: string | null }[] }>(
        'SELECT id, status, pause_reasons FROM mailboxes')).rows.map((r) => [r.id, r]));
      const reasons = (id: string) => rows.get(id)!.pause_reasons.map((p) => p.kind);
      expect(reasons(m.sending)).toEqual([]);
      expect(reasons(m.byHand)).toEqual(['user']);
      expect(reasons(m.dns)).toEqual(['dns']);
      expect(reasons(m.bounces)).toEqual(['rest']);
      expect(rows.get(m.bounces)!.pause_reasons[0]!.until).toBe('2030-01-01T00:00:00.000Z');
      expect(reasons(m.rotation)).toEqual(['domain']);
      expect(reasons(m.returned)).toEqual([]);
      expect(rows.get(m.returned)!.status).toBe('active');

      // From now on one open rest per kind: the DNS-resting mailbox can rest for bounces too, not twice for DNS.
      expect(await openRest(pool, m.dns, 'rest', 'bounce rate', null)).not.toBeNull();
      expect(await openRest(pool, m.dns, 'dns', 'again', null)).toBeNull();
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

  it('016 (domain ownership): domains registered before it are verified for their owner unless another owner sends from them; every mailbox keeps sending', async () => {
    // A database as it was before 016: every migration before it, then rows written by the old code.
    const before = await mkdtemp(path.join(os.tmpdir(), 'migr-015-'));
    for (const f of (await readdir(MIGRATIONS_DIR)).filter((f) => /^\d{3}_.*\.sql$/.test(f) && f < '016')) {
      await copyFile(path.join(MIGRATIONS_DIR, f), path.join(before, f));
    }
    const db = await createTestDatabase(testEnv('adminDatabaseUrl'), 'outreach_migr', { migrationsDir: before });
    const pool = createPool(db.url, 2);
    try {
      const [c1, c2, provider] = [randomUUID(), randomUUID(), randomUUID()];
      await pool.query("INSERT INTO clients (id, name) VALUES ($1, 'one'), ($2, 'two')", [c1, c2]);
      await pool.query("INSERT INTO provider_accounts (id, name, kind, config_encrypted) VALUES ($1, 'relay', 'smtp', 'sealed')", [provider]);
      const [own, agency, squat] = [randomUUID(), randomUUID(), randomUUID()];
      await pool.query(
        `INSERT INTO sending_domains (id, domain, client_id, dkim_selector, configuration_set, dns_status, created_at) VALUES
           ($1, 'own.example.com', $4, 's1', 'pool-a', 'pass', now() - interval '30 days'),
           ($2, 'agency.example.com', NULL, NULL, NULL, 'unchecked', now() - interval '10 days'),
           ($3, 'squatted.example.com', $5, 'nope', NULL, 'fail', now() - interval '1 day')`,
        [own, agency, squat, c1, c2],
      );
      const mailbox = (client: string | null, address: string) => pool.query(
        `INSERT INTO mailboxes (id, client_id, address, pool, provider_ids, send_window, limits)
         VALUES (gen_random_uuid(), $1, $2, 'p', ARRAY[$3::uuid], '{"days":["mon"],"start":"09:00","end":"17:00"}', '{}') RETURNING id`,
        [client, address, provider],
      ).then((r) => r.rows[0].id as string);
      const m = {
        own: await mailbox(c1, 'ann@own.example.com'),
        unregistered: await mailbox(c1, 'bob@unregistered.example.com'),
        atAgency: await mailbox(c2, 'cy@agency.example.com'), // a client's mailbox at the agency's domain, as the old import allowed
        squatted: await mailbox(c1, 'dee@squatted.example.com'), // c1's domain, which c2 registered first (the old first come)
        agencyOwn: await mailbox(null, 'eve@agency.example.com'),
      };
      // The old hourly check rested c1's mailbox for c2's failing claim.
      await pool.query("UPDATE mailboxes SET status = 'paused' WHERE id = $1", [m.squatted]);
      await pool.query("INSERT INTO mailbox_rests (id, mailbox_id, reason) VALUES (gen_random_uuid(), $1, 'its sending domain failed its DNS check')", [m.squatted]);

      expect(await migrate(pool)).toEqual(expect.arrayContaining(['016_domain_ownership.sql']));

      const rows = await pool.query<{ id: string; verified_at: Date | null; created_at: Date; verification_method: string | null; verification_token: string }>(
        'SELECT id, verified_at, created_at, verification_method, verification_token FROM sending_domains');
      const byId = new Map(rows.rows.map((r) => [r.id, r]));
      // Verified for its owner: only its owner's mailboxes there.
      expect([byId.get(own)!.verification_method, byId.get(own)!.verified_at?.getTime()]).toEqual(['migration', byId.get(own)!.created_at.getTime()]);
      // Pending: another owner sends from it (c2's mailbox at the agency's domain; c1's at the domain c2 registered first).
      expect([byId.get(agency)!.verified_at, byId.get(agency)!.verification_method]).toEqual([null, null]);
      expect([byId.get(squat)!.verified_at, byId.get(squat)!.verification_method]).toEqual([null, null]);
      for (const r of rows.rows) expect(r.verification_token).toMatch(/^[0-9a-f]{64}$/);
      expect(new Set(rows.rows.map((r) => r.verification_token)).size).toBe(3);

      // Production keeps sending: every mailbox is still picked by its client's campaigns, on the same configuration set.
      expect((await selectCampaignMailboxes(pool, c1, { pool: 'p' })).map((x) => x.id).sort()).toEqual([m.own, m.unregistered, m.squatted, m.agencyOwn].sort());
      expect((await selectCampaignMailboxes(pool, c2, { pool: 'p' })).map((x) => x.id).sort()).toEqual([m.atAgency, m.agencyOwn].sort());
      expect(await configurationSetFor(pool, 'ann@own.example.com', c1)).toBe('pool-a');
      // The mailbox the squatter's failing claim had rested comes back with the next rotation.
      expect((await restsDue(pool)).map((r) => r.mailboxId)).toEqual([m.squatted]);

      // From now on: imports only at the importer's verified domains; another owner's claim is its own, pending.
      const row = (address: string) => ({ address, providers: ['relay'], pool: 'p' });
      expect((await importMailboxes(pool, c1, [row('new@own.example.com')], { timezone: 'UTC' })).inserted).toHaveLength(1);
      expect((await importMailboxes(pool, null, [row('new@agency.example.com')], { timezone: 'UTC' })).domainRefused.map((e) => e.path)).toEqual(['mailboxes.0.address']);
      expect((await importMailboxes(pool, c2, [row('new@squatted.example.com')], { timezone: 'UTC' })).domainRefused.map((e) => e.path)).toEqual(['mailboxes.0.address']);
      expect((await importMailboxes(pool, c1, [row('new@unregistered.example.com')], { timezone: 'UTC' })).domainRefused.map((e) => e.path)).toEqual(['mailboxes.0.address']);
      expect((await importMailboxes(pool, c2, [row('new2@own.example.com')], { timezone: 'UTC' })).domainRefused.map((e) => e.path)).toEqual(['mailboxes.0.address']);
      const claim = await insertDomain(pool, { clientId: c2, domain: 'own.example.com', dkimSelector: null, configurationSet: null });
      expect(claim?.verification).toBe('pending');
      expect(await insertDomain(pool, { clientId: c1, domain: 'own.example.com', dkimSelector: null, configurationSet: null })).toBeNull();
      // At most one verified owner per name.
      await expect(pool.query("UPDATE sending_domains SET verified_at = now(), verification_method = 'dns' WHERE id = $1", [claim!.id])).rejects.toThrow(/sending_domains_verified_uq/);
    } finally {
      await pool.end();
      await db.drop();
    }
  });
});
