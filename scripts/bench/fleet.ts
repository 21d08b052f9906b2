/**
 * npm run bench:fleet — the mailbox fleet on a real dev server and PostgreSQL:
 *  1. import + start 1,200 and then 10,000 mailboxes through the HTTP API;
 *  2. the worker's resident memory and CPU with all of them idle for a minute;
 *  3. p50/p99 latency of a slot reservation under 50 concurrent requesters.
 * Needs PostgreSQL reachable at BENCH_DATABASE_ADMIN_URL (default: the test role).
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { mailboxWorkflowId } from '../../workflows/ids';
import { reserveSlotUpdate, stateQuery } from '../../workflows/messages/mailbox';
import { machineLine, runBench, say, startBenchStack } from './harness';

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function procStats(pid: number): Promise<{ rssMiB: number; cpuSeconds: number }> {
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  const ticks = 100; // USER_HZ on Linux
  const cpuSeconds = (Number(stat[11]) + Number(stat[12])) / ticks;
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { rssMiB: rssKb / 1024, cpuSeconds };
}

async function main(): Promise<void> {
  const stack = await startBenchStack();
  const { config, worker, temporal, connection, app } = stack;
  const port = config.PORT;
  await app.listen({ host: '127.0.0.1', port });
  const base = `http://127.0.0.1:${port}`;
  const post = async (url: string, key: string, body: unknown) => {
    const res = await fetch(base + url, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const json = (await res.json()) as Record<string, unknown>;
    if (res.status >= 300) throw new Error(`${url}: ${res.status} ${JSON.stringify(json).slice(0, 300)}`);
    return json;
  };

  try {
    const client = (await post('/v1/clients', config.ADMIN_API_KEY!, { name: 'bench' })) as { id: string; apiKey: string };
    await post('/v1/providers', config.ADMIN_API_KEY!, { name: 'bench-smtp', kind: 'smtp', config: { host: '127.0.0.1', port: 2525 } });
    const rows = (n: number, tag: string, extra: Record<string, unknown> = {}) =>
      Array.from({ length: n }, (_, i) => ({ address: `m${i}-${tag}@d${i % 8}.bench.example`, pool: `pool-${i % 4}`, providers: ['bench-smtp'], ...extra }));

    for (const n of [1200, 10_000]) {
      const tag = randomUUID().slice(0, 6);
      const batch = rows(n, tag);
      await stack.verifyDomains(client.apiKey, batch.map((r) => r.address)); // before the clock: the import is what is measured
      const t0 = performance.now();
      const answer = (await post('/v1/mailboxes', client.apiKey, { mailboxes: batch })) as { created: number };
      const tImport = performance.now() - t0;
      if (answer.created !== n) throw new Error(`created ${answer.created} of ${n}`);
      // Ready = the worker has run every new mailbox's first task (its last one answers a query).
      const last = temporal.workflow.getHandle(mailboxWorkflowId(`m${n - 1}-${tag}@d${(n - 1) % 8}.bench.example`));
      for (;;) {
        try {
          await connection.withDeadline(Date.now() + 10_000, () => last.query(stateQuery, Date.now()));
          break;
        } catch {
          /* not yet */
        }
      }
      const tReady = performance.now() - t0;
      say(`import ${n} mailboxes: API answered in ${(tImport / 1000).toFixed(1)} s (${Math.round(n / (tImport / 1000))}/s); all workflows running and answering in ${(tReady / 1000).toFixed(1)} s`);
    }

    const idleSeconds = Number(process.env.BENCH_IDLE_SECONDS ?? 60);
    const s0 = await procStats(worker.pid!);
    await new Promise((r) => setTimeout(r, idleSeconds * 1000));
    const s1 = await procStats(worker.pid!);
    say(`worker idle with 11,200 mailbox workflows for ${idleSeconds} s: RSS ${s1.rssMiB.toFixed(0)} MiB, CPU ${(((s1.cpuSeconds - s0.cpuSeconds) / idleSeconds) * 100).toFixed(1)} % of one core`);

    // Reservation latency: 200 permissive mailboxes, 50 concurrent requesters.
    const tag = randomUUID().slice(0, 6);
    const permissive = { warmup: null, window: { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '00:00', end: '24:00' }, limits: { dailyMax: 10000, hourlyMax: 1000, minIntervalSeconds: 0, jitterRatio: 0 } };
    const fast = rows(200, tag, permissive) as { address: string }[];
    await stack.verifyDomains(client.apiKey, fast.map((m) => m.address));
    await post('/v1/mailboxes', client.apiKey, { mailboxes: fast });
    for (const m of fast) {
      for (;;) {
        try {
          await connection.withDeadline(Date.now() + 10_000, () => temporal.workflow.getHandle(mailboxWorkflowId(m.address)).query(stateQuery, Date.now()));
          break;
        } catch {
          /* warming */
        }
      }
    }
    const perRequester = Number(process.env.BENCH_RESERVATIONS ?? 40);
    const latencies: number[] = [];
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 50 }, async (_, r) => {
        for (let i = 0; i < perRequester; i++) {
          const m = fast[(r * 7 + i * 13) % fast.length]!;
          const start = performance.now();
          const a = await temporal.workflow.getHandle(mailboxWorkflowId(m.address)).executeUpdate(reserveSlotUpdate, {
            args: [{ requestId: `${r}-${i}`, campaignId: `bench-${r}-${i}` }],
          });
          latencies.push(performance.now() - start);
          if (!a.granted) throw new Error('reservation denied');
        }
      }),
    );
    const wall = (performance.now() - t0) / 1000;
    latencies.sort((x, y) => x - y);
    say(`slot reservation, 50 concurrent requesters, ${latencies.length} requests: p50 ${pct(latencies, 50).toFixed(1)} ms, p99 ${pct(latencies, 99).toFixed(1)} ms, ${Math.round(latencies.length / wall)} reservations/s`);
    say(machineLine());
  } finally {
    await stack.close();
  }
}

runBench(main);
