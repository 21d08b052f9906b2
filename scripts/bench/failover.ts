/**
 * npm run bench:failover — how fast sends move off a failing provider, end
 * to end on this machine (dev server, PostgreSQL, worker in its own process).
 * SES is every mailbox's first provider, SendGrid the second; the SES fake
 * answers 503 to everything from the campaign's start (BENCH_OUTAGE=start, the
 * default: the breaker's window is empty) or from its 20th SES send
 * (BENCH_OUTAGE=running). A small SendGrid-only campaign warms the worker up
 * first. Reports the time from the outage to the first send through
 * SendGrid, and at each failed half-open probe the stall: how much longer the
 * largest per-mailbox gap between deliveries across it is than the largest
 * gap anywhere else after the outage (the pacing plus batch turnaround).
 * BENCH_MAILBOXES (10), BENCH_PACING_SECONDS (2), BENCH_PROBES (2 failed probes
 * to watch), and the breaker: BENCH_OPEN_SECONDS (30), BENCH_MIN_ATTEMPTS (20),
 * the production defaults. Needs PostgreSQL at BENCH_DATABASE_ADMIN_URL.
 */
import { SendgridFake } from '../../test/fakes/sendgrid-fake';
import { SesFake } from '../../test/fakes/ses-fake';
import { machineLine, runBench, say, startBenchStack } from './harness';

const MAILBOXES = Number(process.env.BENCH_MAILBOXES ?? 10);
const PACING_S = Number(process.env.BENCH_PACING_SECONDS ?? 2);
const PROBES = Number(process.env.BENCH_PROBES ?? 2);
const OPEN_S = process.env.BENCH_OPEN_SECONDS ?? '30';
const MIN_ATTEMPTS = process.env.BENCH_MIN_ATTEMPTS ?? '20';
const OUTAGE = process.env.BENCH_OUTAGE === 'running' ? 'running' : 'start';

async function main(): Promise<void> {
  const stack = await startBenchStack({ PROVIDER_BREAKER_OPEN_SECONDS: OPEN_S, PROVIDER_BREAKER_MIN_ATTEMPTS: MIN_ATTEMPTS });
  const { config, app, pool } = stack;
  const ses = new SesFake();
  const sg = new SendgridFake();
  const sesUrl = await ses.start();
  const sgUrl = await sg.start();
  const call = async (method: 'POST' | 'GET', url: string, key: string, payload?: unknown) => {
    const res = await app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, payload: payload as object });
    if (res.statusCode >= 300) throw new Error(`${url}: ${res.statusCode} ${res.body.slice(0, 300)}`);
    return JSON.parse(res.body) as Record<string, unknown>;
  };
  try {
    const admin = config.ADMIN_API_KEY!;
    const client = (await call('POST', '/v1/clients', admin, { name: 'bench' })) as { apiKey: string };
    const sesAcct = (await call('POST', '/v1/providers', admin, { name: 'ses', kind: 'ses', config: { region: 'eu-west-1', accessKeyId: 'AK', secretAccessKey: 'SK', endpoint: sesUrl } })) as { id: string };
    await call('POST', '/v1/providers', admin, { name: 'sg', kind: 'sendgrid', config: { apiKey: 'SG.bench', endpoint: sgUrl } });
    const all = { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '00:00', end: '24:00' };
    const limits = { dailyMax: 10_000, hourlyMax: 10_000, minIntervalSeconds: PACING_S, jitterRatio: 0 };
    await stack.verifyDomains(client.apiKey, [...Array.from({ length: 4 }, (_, i) => `d${i}.bench.example`), 'warm.bench.example']);
    await call('POST', '/v1/mailboxes', client.apiKey, {
      mailboxes: [
        ...Array.from({ length: MAILBOXES }, (_, i) => ({ address: `b${i}@d${i % 4}.bench.example`, pool: 'bench', providers: ['ses', 'sg'], warmup: null, window: all, limits })),
        ...Array.from({ length: 2 }, (_, i) => ({ address: `w${i}@warm.bench.example`, pool: 'warm', providers: ['sg'], warmup: null, window: all, limits })),
      ],
    });
    const tpl = (await call('POST', '/v1/templates', client.apiKey, { name: 't', subject: 'Hi', text: 'Hello. {{unsubscribeUrl}}' })) as { id: string };
    const campaign = async (pool: string, leads: number) => {
      const c = (await call('POST', '/v1/campaigns', client.apiKey, { name: pool, steps: [{ templateId: tpl.id, delayDays: 0 }], mailboxes: { pool } })) as { id: string };
      await call('POST', `/v1/campaigns/${c.id}/leads`, client.apiKey, { leads: Array.from({ length: leads }, (_, j) => ({ email: `${pool}${j}@leads.bench.example` })) });
      return c.id;
    };
    const warm = await campaign('warm', 4);
    const campId = await campaign('bench', MAILBOXES * Math.ceil(600 / PACING_S)); // more than the run needs
    await call('POST', `/v1/campaigns/${warm}/start`, client.apiKey);
    while (((await call('GET', `/v1/campaigns/${warm}`, client.apiKey)) as { status: string }).status !== 'completed') await new Promise((r) => setTimeout(r, 200));

    if (OUTAGE === 'start') ses.fail(503); // every SES call answers 503 from now on
    const sgBefore = sg.accepted;
    let t0 = Date.now();
    await call('POST', `/v1/campaigns/${campId}/start`, client.apiKey);
    if (OUTAGE === 'running') {
      while (ses.accepted < 20) await new Promise((r) => setTimeout(r, 10));
      ses.fail(503);
      t0 = Date.now();
    }
    while (sg.accepted === sgBefore) await new Promise((r) => setTimeout(r, 10));
    const firstMs = Date.now() - t0;
    const failedProbes = async () =>
      (await pool.query<{ at: Date }>(
        "SELECT at FROM provider_switches WHERE provider_account_id = $1 AND from_state = 'half_open' AND to_state = 'open' ORDER BY at",
        [sesAcct.id],
      )).rows.map((r) => r.at.getTime());
    let probes: number[] = [];
    const deadline = Date.now() + 600_000;
    while ((probes = await failedProbes()).length < PROBES && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
    await new Promise((r) => setTimeout(r, 3 * PACING_S * 1000)); // deliveries after the last probe
    await call('POST', `/v1/campaigns/${campId}/pause`, client.apiKey);

    const sends = (await pool.query<{ mailbox: string; sent: Date; attempts: number; late: number }>(
      `SELECT mailbox_id AS mailbox, sent_at AS sent, attempts, extract(epoch FROM sent_at - slot_at) * 1000 AS late
       FROM sends WHERE campaign_id = $1 AND status = 'sent' AND sent_at >= $2 ORDER BY sent_at`,
      [campId, new Date(t0)],
    )).rows;
    const byMailbox = new Map<string, number[]>();
    for (const s of sends) byMailbox.set(s.mailbox, [...(byMailbox.get(s.mailbox) ?? []), s.sent.getTime()]);
    // At each failed probe: the largest gap, over the mailboxes, between the deliveries either side of it;
    // the baseline is the largest gap between deliveries with no failed probe in between.
    const spans = [...byMailbox.values()].flatMap((times) => times.slice(1).map((to, k) => ({ from: times[k]!, to })));
    const across = (t: number) => spans.filter((g) => g.from < t && t <= g.to).reduce((m, g) => Math.max(m, g.to - g.from), 0);
    const baseline = spans.filter((g) => !probes.some((t) => g.from < t && t <= g.to)).reduce((m, g) => Math.max(m, g.to - g.from), 0);
    const gaps = probes.map(across);
    const stalls = gaps.map((g) => Math.max(0, g - baseline));
    const maxAttempts = Math.max(...sends.map((s) => s.attempts));
    const worstLate = Math.max(...sends.map((s) => Number(s.late)));
    say(`failover bench: ${MAILBOXES} mailboxes at ${PACING_S} s pacing, SES fake 503 ${OUTAGE === 'start' ? 'from the campaign start' : 'after 20 SES sends'}, SendGrid second; breaker opens on >5 % of ${MIN_ATTEMPTS} attempts, open ${OPEN_S} s`);
    say(`  outage (SES starts answering 503) → first send through SendGrid: ${firstMs} ms`);
    say(`  failed probes seen: ${probes.length}; largest per-mailbox gap across each: ${gaps.map((g) => `${g} ms`).join(', ')}; largest gap elsewhere: ${baseline} ms (pacing ${PACING_S * 1000} ms); stall at each: ${stalls.map((x) => `${x} ms`).join(', ')}`);
    say(`  ${sends.length} sent after the outage; most activity attempts for one send: ${maxAttempts}; worst send after its slot: ${worstLate.toFixed(0)} ms; SES calls ${ses.attempts} (${ses.accepted} accepted), SendGrid calls ${sg.attempts}`);
    say(machineLine());
  } finally {
    await stack.close();
    await ses.stop();
    await sg.stop();
  }
}

runBench(main);
