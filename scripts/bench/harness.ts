/**
 * What every end-to-end benchmark stands on: a fresh PostgreSQL database, a
 * Temporal dev server, the worker in its own process (so its memory and CPU
 * can be read), and the API built in this process.
 */
import { Client, Connection } from '@temporalio/client';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { buildApp } from '../../api/app';
import { dataConverterFrom } from '../../core/codec';
import { loadConfig, type Config } from '../../core/config';
import { SecretBox } from '../../core/crypto';
import { createPool } from '../../db/pool';
import { startDnsServer } from '../../test/fakes/dns-server';
import { createTestDatabase } from '../../test/helpers/databases';
import { DEFAULT_ADMIN_DATABASE_URL } from '../../test/helpers/test-env';
import { injectApi, verifyDomains, type DnsZone } from '../../test/helpers/verified-domains';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { freePort, startDevServer } from '../temporal-cli';

const ROOT = path.join(__dirname, '../..');

export interface BenchStack {
  config: Config;
  worker: ChildProcess;
  pool: Pool;
  connection: Connection;
  temporal: Client;
  app: FastifyInstance;
  /** Proves control of the domains of `addresses` for the key's owner (the real path, on the bench's own DNS server). */
  verifyDomains(key: string, addresses: string[]): Promise<void>;
  close(): Promise<void>;
}

/** `env`: extra settings for the worker and the API (e.g. breaker settings). */
export async function startBenchStack(env: Record<string, string> = {}): Promise<BenchStack> {
  const db = await createTestDatabase(process.env.BENCH_DATABASE_ADMIN_URL ?? DEFAULT_ADMIN_DATABASE_URL, 'outreach_bench');
  const server = await startDevServer({ headless: true, searchAttributes: SEARCH_ATTRIBUTES, log: () => undefined });
  // Mailboxes are imported only at verified domains: the bench's domains are proved on a DNS server of its own.
  const zone: DnsZone = new Map();
  const dns = await startDnsServer(zone);
  const config = loadConfig({
    NODE_ENV: 'production',
    PUBLIC_BASE_URL: 'https://outreach.bench.invalid', // production needs an https one (core/config.ts)
    LOG_LEVEL: 'warn',
    DATABASE_URL: db.url,
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_TASK_QUEUE: `bench-${randomUUID()}`,
    ADMIN_API_KEY: 'bench-' + randomBytes(16).toString('hex'),
    CREDENTIALS_KEY: randomBytes(32).toString('base64'),
    PORT: String(await freePort()),
    DNS_SERVER: dns.address,
    ...env,
  });
  const worker = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'worker/main.ts')], {
    cwd: ROOT,
    env: { ...process.env, ...Object.fromEntries(Object.entries(config).map(([k, v]) => [k, String(v)])) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const pool = createPool(db.url, 5);
  const connection = await Connection.connect({ address: server.address });
  const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, ...dataConverterFrom(config) });
  const app = await buildApp({ config, pool, temporal, box: new SecretBox(config.CREDENTIALS_KEY!) });
  return {
    config,
    worker,
    pool,
    connection,
    temporal,
    app,
    async verifyDomains(key, addresses) {
      await verifyDomains(injectApi(app), zone, key, addresses, { agency: key === config.ADMIN_API_KEY });
    },
    async close() {
      await app.close();
      worker.kill('SIGINT');
      await new Promise((r) => worker.once('exit', r));
      await connection.close();
      await pool.end();
      await server.stop();
      await dns.close();
      await db.drop();
    },
  };
}

export const say = (m: string) => process.stdout.write(`${m}\n`);

export function machineLine(): string {
  return `machine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.cpus()[0]?.model ?? ''}`;
}

/** Runs a benchmark's main and exits non-zero with the stack on failure. */
export function runBench(main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
