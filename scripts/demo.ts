/**
 * npm run demo: `npm run dev`, then a whole agency day in a few minutes.
 *
 *   a demo client · DEMO_MAILBOXES (1,200) sender mailboxes in 4 pools over 8 sending domains, each
 *   verified by the client through the real path (its TXT records on a local DNS server the demo runs)
 *   a local SMTP sink as the provider · warm-up and quotas shortened for the demo
 *   a two-step campaign (follow-up after DEMO_FOLLOWUP_SECONDS) of DEMO_LEADS (3,000) leads, 2 % suppressed
 *
 * Everything goes through the HTTP API, like a client would. A live progress
 * bar shows sent, queued, suppressed and the per-pool send rate until the
 * campaign completes; then it checks the sink got every send exactly once and
 * prints where to look in the Web UI. DEMO_EXIT=true stops everything then;
 * otherwise it stays up until Ctrl-C.
 */
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { startDnsServer } from '../test/fakes/dns-server';
import { fetchApi, verifyDomains, type DnsZone } from '../test/helpers/verified-domains';
import { startDev, type DevStack } from './dev';

const POOLS = ['pool-1', 'pool-2', 'pool-3', 'pool-4'];
const DOMAINS = Array.from({ length: 8 }, (_, i) => `mail${i + 1}.demo-outreach.example`);
const ALWAYS_OPEN = { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '00:00', end: '24:00' };
const SUPPRESSED_SHARE = 0.02;
const RATE_WINDOW_S = 10;

/** A real SMTP server (smtp-server) on a free loopback port that counts what it accepts; it keeps no message bodies. */
class DemoSink {
  accepted = 0;
  readonly messageIds = new Map<string, number>();
  private readonly server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    size: 1024 * 1024,
    onData: (stream, _session, callback) => {
      let head = '';
      stream.on('data', (c: Buffer) => {
        if (head.length < 16_384) head += c.toString('utf8');
      });
      stream.on('end', () => {
        this.accepted++;
        const id = /^message-id:\s*(\S+)/im.exec(head.split(/\r?\n\r?\n/, 1)[0] ?? '')?.[1] ?? `(none ${this.accepted})`;
        this.messageIds.set(id, (this.messageIds.get(id) ?? 0) + 1);
        callback(null, `250 OK demo${this.accepted}`);
      });
    },
  });
  port = 0;

  async start(): Promise<this> {
    // smtp-server re-emits every connection's socket error (a reset) on the server: heard here, not thrown.
    this.server.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = ((this.server as unknown as { server: { address(): AddressInfo } }).server.address()).port;
    return this;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  get duplicates(): number {
    return [...this.messageIds.values()].filter((n) => n > 1).length;
  }
}

type Json = Record<string, unknown>;

function apiClient(apiUrl: string) {
  return async function call<T = Json>(method: string, url: string, key: string, body?: unknown): Promise<T> {
    const res = await fetch(apiUrl + url, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text.slice(0, 500)}`);
    return (text ? JSON.parse(text) : {}) as T;
  };
}

const fmt = (n: number) => n.toLocaleString('en-US');
const secondsSince = (t0: number) => ((Date.now() - t0) / 1000).toFixed(1);

interface Counts {
  pending: number;
  scheduled: number;
  sent: number;
  failed: number;
  unknown: number;
  suppressed: number;
}

async function runDemo(dev: DevStack, sink: DemoSink, zone: DnsZone): Promise<boolean> {
  const { config, apiUrl, uiUrl, pool, say } = dev;
  const call = apiClient(apiUrl);
  const admin = config.ADMIN_API_KEY!;
  const tag = randomUUID().slice(0, 8);
  const leadsWanted = config.DEMO_LEADS;
  const mailboxCount = config.DEMO_MAILBOXES;
  const t0 = Date.now();

  say(`demo ${tag}: ${fmt(mailboxCount)} mailboxes in ${POOLS.length} pools over ${DOMAINS.length} domains, ` +
    `a two-step campaign of ${fmt(leadsWanted)} leads, SMTP sink on 127.0.0.1:${sink.port}`);
  const client = await call<{ id: string; apiKey: string }>('POST', '/v1/clients', admin, {
    name: `Demo agency client ${tag}`, physicalAddress: '1 Demo Street, Springfield',
  });
  const provider = await call<{ name: string }>('POST', '/v1/providers', admin, {
    name: `demo-sink-${tag}`, kind: 'smtp', config: { host: '127.0.0.1', port: sink.port },
  });

  // Mailboxes are imported only at domains their client has verified: it registers each domain, publishes the
  // TXT record it is given (and SPF, DKIM, DMARC) on the demo's DNS server, and proves control.
  await verifyDomains(fetchApi(apiUrl), zone, client.apiKey, DOMAINS);
  say(`  ${DOMAINS.length} sending domains verified (TXT outreach-verification at _outreach.<domain>, on the demo's DNS server)`);

  // Warm-up and quotas shortened for the demo: day 0 already allows every mailbox its share of the campaign.
  const perMailbox = Math.ceil((2 * leadsWanted) / mailboxCount);
  const startPerDay = Math.min(10_000, Math.max(20, perMailbox + 10));
  const mailboxes = Array.from({ length: mailboxCount }, (_, i) => ({
    address: `m${String(i + 1).padStart(5, '0')}-${tag}@${DOMAINS[i % DOMAINS.length]}`,
    displayName: `Demo Sender ${i + 1}`,
    pool: POOLS[i % POOLS.length],
    providers: [provider.name],
    window: ALWAYS_OPEN,
    limits: { dailyMax: startPerDay * 2, hourlyMax: Math.min(1000, startPerDay), minIntervalSeconds: 2, jitterRatio: 0.2 },
    warmup: { startPerDay, increasePerDay: 10, maxPerDay: startPerDay * 2 },
  }));
  const imported = await call<{ created: number; ids: string[]; errors: unknown[] }>('POST', '/v1/mailboxes', client.apiKey, { mailboxes });
  if (imported.created !== mailboxCount) throw new Error(`imported ${imported.created} of ${mailboxCount} mailboxes: ${JSON.stringify(imported.errors).slice(0, 500)}`);
  say(`  ${fmt(imported.created)} mailbox workflows started (${secondsSince(t0)} s)`);

  const step1 = await call<{ id: string }>('POST', '/v1/templates', client.apiKey, {
    name: 'Demo opener',
    subject: '{Quick question|A short idea} for {{company|your team}}',
    text: 'Hi {{firstName|there}},\n\n{I noticed|I saw} that {{company|your team}} is growing. Worth a short call?\n\n{{senderName|The demo team}}\nUnsubscribe: {{unsubscribeUrl}}',
  });
  const step2 = await call<{ id: string }>('POST', '/v1/templates', client.apiKey, {
    name: 'Demo follow-up',
    subject: 'Re: a short idea for {{company|your team}}',
    text: 'Hi {{firstName|there}}, just bringing this back to the top of your inbox.\n\nUnsubscribe: {{unsubscribeUrl}}',
  });
  const campaign = await call<{ id: string }>('POST', '/v1/campaigns', client.apiKey, {
    name: `Demo campaign ${tag}`,
    steps: [{ templateId: step1.id, delayDays: 0 }, { templateId: step2.id, delayDays: config.DEMO_FOLLOWUP_SECONDS / 86_400 }],
    mailboxes: { ids: imported.ids },
  });

  // A few leads are on the client's suppression list already (say, earlier unsubscribes).
  const emails = Array.from({ length: leadsWanted }, (_, i) => `lead${String(i + 1).padStart(6, '0')}-${tag}@prospects.example.org`);
  const suppressed = emails.filter((_, i) => i % Math.round(1 / SUPPRESSED_SHARE) === 7);
  if (suppressed.length) {
    await pool.query(
      `INSERT INTO suppressions (client_id, email, reason) SELECT $1, unnest($2::text[]), 'manual' ON CONFLICT DO NOTHING`,
      [client.id, suppressed],
    );
  }
  const upload = await call<{ accepted: number; suppressed: number }>('POST', `/v1/campaigns/${campaign.id}/leads`, client.apiKey, {
    leads: emails.map((email, i) => ({ email, vars: { firstName: `Lead${i + 1}`, company: `Company ${(i % 97) + 1}` } })),
  });
  const expectedSends = 2 * upload.accepted;
  say(`  leads: ${fmt(upload.accepted)} accepted, ${fmt(upload.suppressed)} suppressed → ${fmt(expectedSends)} sends expected`);
  await writeFile(
    path.join(config.DEV_DATA_DIR, 'demo-client.json'),
    JSON.stringify({ clientId: client.id, apiKey: client.apiKey, campaignId: campaign.id }, null, 2),
    { mode: 0o600 },
  );

  await call('POST', `/v1/campaigns/${campaign.id}/start`, client.apiKey);
  const started = Date.now();
  say(`  campaign ${campaign.id} started`);

  const tty = process.stdout.isTTY === true;
  let lastLine = 0;
  let status: string;
  let counts: Counts;
  for (;;) {
    const c = await call<{ status: string; counts: Counts }>('GET', `/v1/campaigns/${campaign.id}`, client.apiKey);
    status = c.status;
    counts = c.counts;
    const { rows } = await pool.query<{ pool: string; recent: string }>(
      `SELECT m.pool, count(*) FILTER (WHERE s.sent_at > now() - make_interval(secs => $2)) AS recent
         FROM sends s JOIN mailboxes m ON m.id = s.mailbox_id
        WHERE s.campaign_id = $1 AND s.status IN ('sent', 'delivered') GROUP BY m.pool`,
      [campaign.id, RATE_WINDOW_S],
    );
    const rates = POOLS.map((p) => `${p} ${(Number(rows.find((r) => r.pool === p)?.recent ?? 0) / RATE_WINDOW_S).toFixed(1)}/s`);
    const done = counts.sent + counts.failed + counts.unknown;
    const share = expectedSends ? Math.min(1, done / expectedSends) : 1;
    const width = 30;
    const bar = '█'.repeat(Math.round(share * width)).padEnd(width, '░');
    const line = `[${bar}] ${(share * 100).toFixed(0).padStart(3)}%  sent ${fmt(counts.sent)}/${fmt(expectedSends)}` +
      `  queued ${fmt(counts.pending + counts.scheduled)}  suppressed ${fmt(counts.suppressed)}` +
      (counts.failed + counts.unknown ? `  failed ${fmt(counts.failed + counts.unknown)}` : '') +
      `  | ${rates.join('  ')}  ${secondsSince(started)} s`;
    const finished = ['completed', 'cancelled'].includes(status);
    if (tty) process.stdout.write(`\r\x1b[K${line}${finished ? '\n' : ''}`);
    else if (finished || Date.now() - lastLine >= 5_000) {
      process.stdout.write(`[demo] ${line}\n`);
      lastLine = Date.now();
    }
    if (finished) break;
    await new Promise((r) => setTimeout(r, 1_000));
  }

  const elapsed = (Date.now() - started) / 1000;
  const ok = status === 'completed' && counts.sent === expectedSends && sink.accepted === expectedSends && sink.duplicates === 0;
  say(`campaign ${status} in ${elapsed.toFixed(1)} s: ${fmt(counts.sent)} sent (${(counts.sent / elapsed).toFixed(1)}/s), ` +
    `${fmt(counts.suppressed)} suppressed, ${fmt(counts.failed + counts.unknown)} failed; ` +
    `the SMTP sink accepted ${fmt(sink.accepted)} messages, ${sink.duplicates} duplicated`);
  if (!ok) say('the demo did NOT end as expected: see the figures above');

  const ns = config.TEMPORAL_NAMESPACE;
  const q = (query: string) => `${uiUrl}/namespaces/${ns}/workflows?query=${encodeURIComponent(query)}`;
  say('where to look');
  if (uiUrl) {
    say(`  the campaign         ${q(`OutreachCampaign="${campaign.id}"`)}`);
    say(`  its sends            ${uiUrl}/namespaces/${ns}/workflows/campaign-${campaign.id}  (event history → Compact: one send activity per mailbox batch; sign in at /codec/login to read them)`);
    say(`  the client's fleet   ${q(`OutreachClient="${client.id}"`)}`);
    say(`  one mailbox          ${uiUrl}/namespaces/${ns}/workflows/mailbox-${mailboxes[0]!.address}  (Queries → state)`);
  } else {
    say('  (no Web UI: DEV_START_TEMPORAL=false; use your Temporal UI with the queries below)');
    say(`  OutreachCampaign="${campaign.id}"   OutreachClient="${client.id}"`);
  }
  say(`  API                  GET ${apiUrl}/v1/campaigns/${campaign.id}  and  /sends  (client key in ${path.join(config.DEV_DATA_DIR, 'demo-client.json')})`);
  say(`  metrics              ${apiUrl}/metrics  (${config.METRICS_TOKEN ? 'METRICS_TOKEN or the operator key' : 'open: METRICS_TOKEN is not set'})`);
  return ok;
}

async function main(): Promise<void> {
  // The sink starts first and stops last, after the worker has finished its sends.
  const sink = await new DemoSink().start();
  // The demo's sending domains live on a DNS server of its own (the domain checks ask it: DNS_SERVER).
  const zone: DnsZone = new Map();
  const dns = await startDnsServer(zone);
  const say = (m: string) => process.stdout.write(`[demo] ${m}\n`);
  const dev = await startDev({
    before: [{ name: 'SMTP sink', stop: () => sink.stop() }, { name: 'demo DNS server', stop: () => dns.close() }],
    say,
    config: { DNS_SERVER: dns.address },
  });
  let ok = false;
  try {
    ok = await runDemo(dev, sink, zone);
  } catch (err) {
    if (dev.stopping()) return; // Ctrl-C while it ran: the API went away under the progress loop
    say(`demo failed: ${(err as Error).stack ?? String(err)}`);
    await dev.shutdown(1);
  }
  if (dev.config.DEMO_EXIT) await dev.shutdown(ok ? 0 : 1);
  else say('Ctrl-C stops everything.');
}

void main();
