/**
 * `npm run bench:worker-start`: how long a worker takes from process start
 * until it polls (the SDK's "Worker state changed: RUNNING"), run from
 * source (tsx, bundling the workflow code at start, as before the compiled
 * build) and compiled (`node dist/worker/main.js` with the prebuilt bundle;
 * run `npm run build` first). BENCH_RUNS (default 3) starts of each, one
 * after another, on one dev server and database.
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { migrate } from '../../db/migrate';
import { createPool } from '../../db/pool';
import { createTestDatabase } from '../../test/helpers/databases';
import { DEFAULT_ADMIN_DATABASE_URL } from '../../test/helpers/test-env';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { startDevServer } from '../temporal-cli';
import { machineLine, runBench, say } from './harness';

const ROOT = path.join(__dirname, '..', '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const START_MAX_MS = 300_000;

function startOnce(args: string[], env: NodeJS.ProcessEnv): Promise<{ ms: number }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let done = false;
    const timer = setTimeout(() => finish(new Error(`no RUNNING within ${START_MAX_MS / 1000} s: ${out.slice(-2000)}`)), START_MAX_MS);
    const finish = (err: Error | null, ms?: number) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.once('exit', () => (err ? reject(err) : resolve({ ms: ms! })));
      child.kill('SIGINT');
    };
    const onData = (chunk: Buffer) => {
      out = (out + chunk.toString()).slice(-20_000);
      if (/Worker state changed[^\n]*RUNNING|"state":"RUNNING"/.test(out)) finish(null, Number(process.hrtime.bigint() - started) / 1e6);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => { if (!done) { done = true; clearTimeout(timer); reject(new Error(`worker exited (${code}) before RUNNING: ${out.slice(-2000)}`)); } });
  });
}

runBench(async () => {
  if (!existsSync(path.join(ROOT, 'dist', 'worker', 'main.js')) || !existsSync(path.join(ROOT, 'dist', 'workflow-bundle.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first');
  }
  const db = await createTestDatabase(process.env.BENCH_DATABASE_ADMIN_URL ?? DEFAULT_ADMIN_DATABASE_URL, 'outreach_bench');
  const server = await startDevServer({ headless: true, searchAttributes: SEARCH_ATTRIBUTES, log: () => undefined });
  try {
    const pool = createPool(db.url, 2);
    await migrate(pool);
    await pool.end();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ENV: 'production',
      PUBLIC_BASE_URL: 'https://outreach.bench.invalid',
      LOG_LEVEL: 'info',
      DATABASE_URL: db.url,
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_TASK_QUEUE: `bench-${randomUUID()}`,
      CREDENTIALS_KEY: randomBytes(32).toString('base64'),
      SCHEDULES_ENABLED: 'false',
    };
    say(machineLine());
    say(`node ${process.version}, ${RUNS} starts each`);
    const modes: [string, string[]][] = [
      ['from source (tsx, bundles the workflows at start)', ['--import', 'tsx', path.join(ROOT, 'worker', 'main.ts')]],
      ['compiled (node dist/worker/main.js, prebuilt bundle)', [path.join(ROOT, 'dist', 'worker', 'main.js')]],
    ];
    for (const [name, args] of modes) {
      const times: number[] = [];
      for (let i = 0; i < RUNS; i++) times.push((await startOnce(args, env)).ms);
      times.sort((a, b) => a - b);
      say(`${name}: median ${(times[Math.floor(times.length / 2)]! / 1000).toFixed(2)} s (${times.map((t) => (t / 1000).toFixed(2)).join(', ')} s)`);
    }
  } finally {
    await server.stop();
    await db.drop();
  }
});
