/**
 * npm run bench:providers — sends per second through each adapter (real SDK
 * client) to its local fake with no added latency, and the cost of the
 * durable send record (claim before the call, mark sent after) in PostgreSQL.
 * Needs PostgreSQL at BENCH_DATABASE_ADMIN_URL (default: the test role).
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { MailgunProvider } from '../../activities/providers/mailgun';
import { SendgridProvider } from '../../activities/providers/sendgrid';
import { SesProvider } from '../../activities/providers/ses';
import { SmtpProvider } from '../../activities/providers/smtp';
import type { EmailProvider, OutgoingMessage } from '../../activities/providers/types';
import { uuidv7 } from '../../core/ids';
import { createPool } from '../../db/pool';
import { claimSend, markSent } from '../../db/repositories/sends';
import { MailgunFake } from '../../test/fakes/mailgun-fake';
import { SendgridFake } from '../../test/fakes/sendgrid-fake';
import { SesFake } from '../../test/fakes/ses-fake';
import { SmtpFake } from '../../test/fakes/smtp-fake';
import { createTestDatabase } from '../../test/helpers/databases';
import { DEFAULT_ADMIN_DATABASE_URL } from '../../test/helpers/test-env';

const N = Number(process.env.BENCH_SENDS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 20);
const say = (m: string) => process.stdout.write(`${m}\n`);

const message = (i: number): OutgoingMessage => ({
  from: { address: 'ann@send.example.com', name: 'Ann' },
  to: `lead${i}@leads.example.org`,
  subject: 'A short question',
  text: 'Hi there, a short question about your team. '.repeat(10),
  html: `<p>${'Hi there, a short question about your team. '.repeat(10)}</p>`,
  messageId: `<${randomUUID()}@send.example.com>`,
  correlationId: randomUUID(),
  headers: { 'List-Unsubscribe': '<https://x.example/u/t>', 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
});

async function run(n: number, fn: (i: number) => Promise<unknown>): Promise<{ perSecond: number; p50: number; p99: number }> {
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < n) {
      const i = next++;
      const s = performance.now();
      await fn(i);
      lat.push(performance.now() - s);
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return { perSecond: n / secs, p50: lat[Math.floor(lat.length * 0.5)]!, p99: lat[Math.floor(lat.length * 0.99)]! };
}

async function main(): Promise<void> {
  const ses = new SesFake();
  const sg = new SendgridFake();
  const mg = new MailgunFake();
  const smtp = new SmtpFake();
  const [sesUrl, sgUrl, mgUrl] = [await ses.start(), await sg.start(), await mg.start()];
  await smtp.start();
  const adapters: [string, EmailProvider][] = [
    ['SES v2 (@aws-sdk/client-sesv2)', new SesProvider('a1', 'ses', { region: 'eu-west-1', accessKeyId: 'AK', secretAccessKey: 'SK', endpoint: sesUrl })],
    ['SendGrid (@sendgrid/client)', new SendgridProvider('a2', 'sg', { apiKey: 'SG.k', endpoint: sgUrl })],
    ['Mailgun (HTTP API, fetch)', new MailgunProvider('a3', 'mg', { apiKey: 'k', domain: 'send.example.com', endpoint: mgUrl })],
    ['SMTP (nodemailer, pooled)', new SmtpProvider('a4', 'smtp', { host: '127.0.0.1', port: smtp.port, secure: false, requireTls: false })],
  ];
  say(`${N} sends per adapter, ${CONCURRENCY} concurrent, fakes answering at once:`);
  for (const [name, p] of adapters) {
    await run(50, (i) => p.send(message(i))); // warm-up
    const r = await run(N, (i) => p.send(message(i)));
    say(`  ${name}: ${r.perSecond.toFixed(0)} sends/s (p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms)`);
    await p.close();
  }

  const db = await createTestDatabase(process.env.BENCH_DATABASE_ADMIN_URL ?? DEFAULT_ADMIN_DATABASE_URL, 'outreach_bench');
  const pool = createPool(db.url, CONCURRENCY);
  try {
    const clientId = uuidv7();
    const campaignId = uuidv7();
    await pool.query("INSERT INTO clients (id, name) VALUES ($1, 'bench')", [clientId]);
    await pool.query("INSERT INTO campaigns (id, client_id, name, steps, mailbox_selector, status) VALUES ($1, $2, 'b', '[]', '{}', 'running')", [campaignId, clientId]);
    const leadIds = Array.from({ length: N }, () => uuidv7());
    await pool.query(
      `INSERT INTO leads (id, client_id, campaign_id, email) SELECT id, $2, $3, 'l' || ord || '@x.org' FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, ord)`,
      [leadIds, clientId, campaignId],
    );
    const r = await run(N, async (i) => {
      const claim = await claimSend(pool, { clientId, campaignId, leadId: leadIds[i]!, step: 0, mailboxId: null as unknown as string });
      if (!claim.claimed) throw new Error('bench campaign is not running');
      await markSent(pool, claim.row.id, { providerAccountId: null as unknown as string, providerMessageId: `m${i}`, messageIdHeader: `<m${i}>` });
    });
    say(`durable send record (intent row before the call + sent after), ${CONCURRENCY} concurrent: ${r.perSecond.toFixed(0)} sends/s, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms per send`);
  } finally {
    await pool.end();
    await db.drop();
  }
  for (const f of [ses, sg, mg, smtp]) await f.stop();
  say(`machine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.cpus()[0]?.model ?? ''}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
