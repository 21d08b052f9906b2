/**
 * npm run bench:campaign — one campaign end to end on this machine (dev
 * server, PostgreSQL, worker in its own process, SMTP sink as the provider):
 * sends per second, the worker's peak RSS, the time from the start call to
 * the first accepted message, and the longest workflow history of the run.
 * BENCH_LEADS (default 100000), BENCH_MAILBOXES (default 50) and
 * BENCH_PROVIDER (smtp, the default, or sendgrid: the zero-latency HTTP fake).
 * Needs PostgreSQL at BENCH_DATABASE_ADMIN_URL (default: the test role).
 */
import { readFile } from 'node:fs/promises';
import { SendgridFake } from '../../test/fakes/sendgrid-fake';
import { SmtpSink } from '../../test/fakes/smtp-sink';
import { machineLine, runBench, say, startBenchStack } from './harness';

const LEADS = Number(process.env.BENCH_LEADS ?? 100_000);
const MAILBOXES = Number(process.env.BENCH_MAILBOXES ?? 50);
const PROVIDER = process.env.BENCH_PROVIDER === 'sendgrid' ? 'sendgrid' : 'smtp';

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

async function main(): Promise<void> {
  const stack = await startBenchStack();
  const { config, worker, temporal, app } = stack;
  const smtp = PROVIDER === 'smtp' ? await new SmtpSink().start() : null;
  const http = PROVIDER === 'sendgrid' ? new SendgridFake() : null;
  const httpUrl = http ? await http.start() : '';
  const received = () => smtp?.received.length ?? http?.accepted ?? 0;
  const call = async (method: 'POST' | 'GET', url: string, key: string, payload?: unknown) => {
    const res = await app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, payload: payload as object });
    if (res.statusCode >= 300) throw new Error(`${url}: ${res.statusCode} ${res.body.slice(0, 300)}`);
    return JSON.parse(res.body) as Record<string, unknown>;
  };
  let peak = 0;
  const sampler = setInterval(() => void rssMiB(worker.pid!).then((r) => (peak = Math.max(peak, r))), 500);
  try {
    const admin = config.ADMIN_API_KEY!;
    const client = (await call('POST', '/v1/clients', admin, { name: 'bench' })) as { apiKey: string };
    await call('POST', '/v1/providers', admin, smtp
      ? { name: 'sink', kind: 'smtp', config: { host: '127.0.0.1', port: smtp.port } }
      : { name: 'sink', kind: 'sendgrid', config: { apiKey: 'SG.bench', endpoint: httpUrl } });
    const all = { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '00:00', end: '24:00' };
    await stack.verifyDomains(client.apiKey, Array.from({ length: 8 }, (_, i) => `d${i}.bench.example`));
    await call('POST', '/v1/mailboxes', client.apiKey, {
      mailboxes: Array.from({ length: MAILBOXES }, (_, i) => ({ address: `b${i}@d${i % 8}.bench.example`, pool: 'bench', providers: ['sink'], warmup: null, window: all, limits: { dailyMax: 10_000, hourlyMax: 10_000, minIntervalSeconds: 0, jitterRatio: 0 } })),
    });
    const tpl = (await call('POST', '/v1/templates', client.apiKey, { name: 't', subject: 'Hi {{firstName|there}}', text: 'Hello {{firstName|there}}. {{unsubscribeUrl}}' })) as { id: string };
    const camp = (await call('POST', '/v1/campaigns', client.apiKey, { name: 'bench', steps: [{ templateId: tpl.id, delayDays: 0 }], mailboxes: { pool: 'bench' } })) as { id: string };
    for (let i = 0; i < LEADS; i += 50_000) {
      const n = Math.min(50_000, LEADS - i);
      await call('POST', `/v1/campaigns/${camp.id}/leads`, client.apiKey, { leads: Array.from({ length: n }, (_, j) => ({ email: `l${i + j}@leads.bench.example`, vars: { firstName: `L${i + j}` } })) });
    }
    const t0 = performance.now();
    await call('POST', `/v1/campaigns/${camp.id}/start`, client.apiKey);
    while (received() === 0) await new Promise((r) => setTimeout(r, 20));
    const firstMs = performance.now() - t0;
    let lastReport = performance.now();
    for (;;) {
      const c = (await call('GET', `/v1/campaigns/${camp.id}`, client.apiKey)) as { status: string };
      if (c.status === 'completed') break;
      if (performance.now() - lastReport > 30_000) {
        lastReport = performance.now();
        say(`  … ${received()} sent after ${((performance.now() - t0) / 1000).toFixed(0)} s`);
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    const secs = (performance.now() - t0) / 1000;
    // Longest history among the campaign's runs and its mailboxes' runs.
    let longest = 0;
    for await (const wf of temporal.workflow.list({ query: `TaskQueue = "${config.TEMPORAL_TASK_QUEUE}"` })) {
      longest = Math.max(longest, wf.historyLength);
    }
    say(`campaign of ${LEADS} leads over ${MAILBOXES} mailboxes (caps lifted, ${smtp ? 'SMTP sink' : 'SendGrid HTTP fake'}): ${received()} sent in ${secs.toFixed(1)} s = ${(received() / secs).toFixed(1)} sends/s; first message ${firstMs.toFixed(0)} ms after start; worker peak RSS ${peak.toFixed(0)} MiB; longest workflow history ${longest} events`);
    say(machineLine());
  } finally {
    clearInterval(sampler);
    await stack.close();
    await smtp?.stop();
    await http?.stop();
  }
}

runBench(main);
