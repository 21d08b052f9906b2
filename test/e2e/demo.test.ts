import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { freePort } from '../../scripts/temporal-cli';
import { createTestDatabase } from '../helpers/databases';
import { testEnv } from '../helpers/test-env';

const ROOT = path.join(__dirname, '../..');
const LEADS = 50;
const MAILBOXES = 32; // 4 pools × 8 domains, a few per pair (the real demo has 1,200)

function passThrough(...names: string[]): Record<string, string> {
  return Object.fromEntries(names.flatMap((n) => (process.env[n] ? [[n, process.env[n]!]] : [])));
}

describe('npm run demo', () => {
  it('runs a two-step campaign over 4 pools and 8 domains to the end, every send exactly once', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'outreach-demo-'));
    await chmod(dir, 0o755);
    const db = await createTestDatabase(testEnv('adminDatabaseUrl'), 'outreach_demo');
    const [apiPort, temporalPort, uiPort] = [await freePort(), await freePort(), await freePort()];
    let output = '';
    try {
      const child = spawn('npm', ['run', 'demo'], {
        cwd: ROOT,
        detached: true,
        env: {
          ...passThrough('PATH', 'HOME', 'XDG_CACHE_HOME', 'TEMPORAL_CLI', 'GOPATH'),
          PORT: String(apiPort),
          TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
          TEMPORAL_UI_PORT: String(uiPort),
          TEMPORAL_DB_FILE: path.join(dir, 'temporal.sqlite'),
          DATABASE_URL: db.url,
          DEV_DATA_DIR: path.join(dir, 'data'),
          LOG_LEVEL: 'warn',
          DEMO_LEADS: String(LEADS),
          DEMO_MAILBOXES: String(MAILBOXES),
          DEMO_FOLLOWUP_SECONDS: '5',
          DEMO_EXIT: 'true',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      const exit = await new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => {
          try {
            process.kill(-child.pid!, 'SIGINT');
          } catch {
            /* gone */
          }
        }, 240_000);
        child.once('exit', (code) => {
          clearTimeout(timer);
          resolve(code);
        });
      });
      expect({ exit, tail: exit === 0 ? '' : output.slice(-4000) }).toEqual({ exit: 0, tail: '' });

      // The figures it printed.
      const suppressed = Array.from({ length: LEADS }, (_, i) => i).filter((i) => i % 50 === 7).length;
      const expected = 2 * (LEADS - suppressed);
      expect(output).toMatch(new RegExp(`leads: ${LEADS - suppressed} accepted, ${suppressed} suppressed → ${expected} sends expected`));
      expect(output).toMatch(/\[demo\] \[[█░]{30}\]\s+\d+%\s+sent \d+\/\d+\s+queued \d+\s+suppressed \d+\s+\| pool-1 [\d.]+\/s {2}pool-2/);
      expect(output).toContain('8 sending domains verified');
      expect(output).toContain(`campaign completed in`);
      expect(output).toContain(`the SMTP sink accepted ${expected} messages, 0 duplicated`);
      expect(output).not.toContain('did NOT end as expected');
      expect(output).toContain(`http://127.0.0.1:${uiPort}/namespaces/default/workflows?query=OutreachCampaign%3D%22`);
      expect(output).toContain('[demo] stopped');
      expect(output).not.toMatch(/lead\d{6}-[0-9a-f]{8}@prospects\.example\.org/); // no recipient address printed
      const secrets = JSON.parse(await readFile(path.join(dir, 'data', 'demo-client.json'), 'utf8')) as { clientId: string; apiKey: string; campaignId: string };
      expect(output).not.toContain(secrets.apiKey);

      // And the rows behind them, in PostgreSQL.
      const pg = new Client({ connectionString: db.url });
      await pg.connect();
      try {
        const mailboxes = await pg.query<{ pools: string; domains: string; n: string }>(
          `SELECT count(DISTINCT pool) AS pools, count(DISTINCT split_part(address, '@', 2)) AS domains, count(*) AS n
             FROM mailboxes WHERE client_id = $1`, [secrets.clientId]);
        expect(mailboxes.rows[0]).toEqual({ pools: '4', domains: '8', n: String(MAILBOXES) });
        // The client proved control of its 8 domains over DNS (the demo's own DNS server), as any client would.
        const domains = await pg.query<{ n: string }>(
          "SELECT count(*) AS n FROM sending_domains WHERE client_id = $1 AND verification_method = 'dns' AND verified_at IS NOT NULL", [secrets.clientId]);
        expect(domains.rows[0]!.n).toBe('8');
        const sends = await pg.query<{ step: number; status: string; n: string; leads: string }>(
          `SELECT step, status, count(*) AS n, count(DISTINCT lead_id) AS leads FROM sends WHERE campaign_id = $1 GROUP BY 1, 2 ORDER BY 1, 2`,
          [secrets.campaignId]);
        expect(sends.rows).toEqual([
          { step: 0, status: 'sent', n: String(LEADS - suppressed), leads: String(LEADS - suppressed) },
          { step: 1, status: 'sent', n: String(LEADS - suppressed), leads: String(LEADS - suppressed) },
        ]);
        const sameMailbox = await pg.query<{ n: string }>(
          `SELECT count(*) AS n FROM sends a JOIN sends b ON a.lead_id = b.lead_id AND a.step = 0 AND b.step = 1
            WHERE a.campaign_id = $1 AND a.mailbox_id <> b.mailbox_id`, [secrets.campaignId]);
        expect(sameMailbox.rows[0]!.n).toBe('0'); // a follow-up goes out from the mailbox of step 1
        const campaign = await pg.query<{ status: string }>('SELECT status FROM campaigns WHERE id = $1', [secrets.campaignId]);
        expect(campaign.rows[0]!.status).toBe('completed');
      } finally {
        await pg.end();
      }
    } finally {
      await db.drop();
    }
  }, 300_000);
});
