/**
 * A/B variants of a step (issue 14, point 3) in the send activity, on real
 * PostgreSQL and a real SMTP server, the activity run in Temporal's mock
 * activity environment so the order of sends (and the replies between them)
 * is the test's: which variant each lead gets, that a retry and a new run
 * (what a workflow that continued as new schedules: the same activity input,
 * nothing else) render the variant the first attempt chose, that every
 * variant's pinned version is sent, and that a winner rule switches the
 * remaining leads only once every variant has N sends, with its decision
 * stored and logged.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { createActivities } from '../../activities';
import { ProviderRegistry } from '../../activities/providers/registry';
import type { SendStepInput, SendStepResult } from '../../activities/send-step.activity';
import { SecretBox } from '../../core/crypto';
import { uuidv7 } from '../../core/ids';
import { createLogger } from '../../core/logger';
import type { WinnerRule } from '../../core/schemas/campaign-variants';
import { createPool, withTransaction } from '../../db/pool';
import { createCampaign, startDraftCampaign } from '../../db/repositories/campaigns';
import { createClient } from '../../db/repositories/clients';
import { insertLeads } from '../../db/repositories/leads';
import { insertMailboxes } from '../../db/repositories/mailboxes';
import { createProviderAccount } from '../../db/repositories/providers';
import { createTemplate, editTemplate } from '../../db/repositories/templates';
import { assignVariant } from '../../workflows/policy/variants';
import { SmtpSink } from '../fakes/smtp-sink';
import { testEnv } from '../helpers/test-env';

describe('step variants in the send activity (PostgreSQL, SMTP)', () => {
  let pool: Pool;
  let sink: SmtpSink;
  let providers: ProviderRegistry;
  const box = new SecretBox(randomBytes(32).toString('base64'));
  const unsubscribeKey = randomBytes(32);
  const logLines: string[] = [];

  beforeAll(async () => {
    pool = createPool(testEnv('databaseUrl'), 3);
    sink = await new SmtpSink().start();
    providers = new ProviderRegistry(pool, box);
  });
  afterAll(async () => {
    await providers?.closeAll();
    await pool?.end();
    await sink?.stop();
  });

  /** A started campaign whose one step has variants A and B (weights 1:1), on one always-open mailbox. */
  async function fixture(leads: number, winner?: WinnerRule) {
    const tag = randomUUID().slice(0, 8);
    const client = await createClient(pool, { name: `variants-${tag}`, physicalAddress: '1 Main St' });
    const provider = await createProviderAccount(pool, box, {
      name: `smtp-${tag}`, kind: 'smtp', config: { host: '127.0.0.1', port: sink.port, secure: false, requireTls: false },
    });
    const { inserted } = await insertMailboxes(pool, [{
      clientId: client.id, address: `mb-${tag}@send.example.com`, displayName: null, pool: `p-${tag}`, providerIds: [provider.id], timezone: 'UTC',
      window: { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '00:00', end: '24:00' },
      limits: { dailyMax: 1000, hourlyMax: 1000, minIntervalSeconds: 0, jitterRatio: 0 }, warmup: null,
    }]);
    const a = await createTemplate(pool, client.id, { name: 'a', subject: `Variant A ${tag}`, text: 'A.\n{{unsubscribeUrl}}' });
    const b = await createTemplate(pool, client.id, { name: 'b', subject: `Variant B ${tag}`, text: 'B.\n{{unsubscribeUrl}}' });
    const variants = [{ templateId: a.id, weight: 1 }, { templateId: b.id, weight: 1 }];
    const campaign = await createCampaign(pool, client.id, {
      name: `variants-${tag}`, mailboxes: { pool: `p-${tag}` },
      steps: [{ variants, ...(winner ? { winner } : {}), delayDays: 0 }],
    });
    const started = await startDraftCampaign(pool, client.id, campaign.id);
    if (!('started' in started)) throw new Error(`not started: ${JSON.stringify(started)}`);
    const emails = Array.from({ length: leads }, (_, i) => `l${i}-${tag}@leads.example.org`);
    await insertLeads(pool, client.id, campaign.id, emails.map((email) => ({ email, vars: {} })));
    const { rows } = await pool.query<{ id: string; email: string }>('SELECT id, email FROM leads WHERE campaign_id = $1 ORDER BY id', [campaign.id]);
    const subjectOf = { [a.id]: `Variant A ${tag}`, [b.id]: `Variant B ${tag}` };
    const hashed = (leadId: string) => variants[assignVariant(leadId, 0, variants)]!.templateId;
    return { tag, clientId: client.id, campaignId: campaign.id, mailboxId: inserted[0]!.id, a: a.id, b: b.id, leads: rows, subjectOf, hashed, pins: started.started };
  }

  /** One attempt of sendStep by a worker of its own (fresh activities, fresh environment): a retry, or a new run's. */
  const sendStep = (input: SendStepInput): Promise<SendStepResult> => {
    const acts = createActivities({
      pool, providers, logger: createLogger('info', { write: (line: string) => void logLines.push(line) }), clock: () => new Date(), client: {} as never,
      publicBaseUrl: 'http://localhost', unsubscribeKey,
    });
    return new MockActivityEnvironment().run(acts.sendStep, input);
  };
  const received = (email: string) => sink.received.filter((m) => m.to[0] === email);
  const variantOf = async (leadId: string) =>
    (await pool.query<{ v: string | null }>('SELECT variant_template_id AS v FROM sends WHERE lead_id = $1 AND step = 0', [leadId])).rows[0]?.v;

  it('each lead gets its hashed variant, recorded on the send; a retry and a new run render the one its first attempt chose', async () => {
    // A winner rule that cannot decide here (after 1000): only a stored decision could move a lead.
    const f = await fixture(12, { metric: 'reply_rate', after: 1000 });
    expect(Object.keys(f.pins).sort()).toEqual([f.a, f.b].sort()); // both variants' versions pinned at start
    const [first, ...rest] = f.leads;
    const base = { campaignId: f.campaignId, mailboxId: f.mailboxId, step: 0 };

    // Each lead, sent by a worker of its own: the variant its hash names, recorded, rendered.
    for (const l of rest.slice(0, 8)) {
      expect(await sendStep({ ...base, leadId: l.id })).toMatchObject({ status: 'sent' });
      expect(await variantOf(l.id)).toBe(f.hashed(l.id));
      expect(received(l.email).map((m) => m.headers.subject)).toEqual([f.subjectOf[f.hashed(l.id)]]);
    }
    const used = new Set(rest.slice(0, 8).map((l) => f.hashed(l.id)));
    expect(used.size).toBe(2); // 8 leads at 1:1 (each lead's id is random): both variants were sent

    // The first attempt fails after choosing (the server says try later): the row waits, its variant recorded.
    sink.rejectRecipient(first!.email, 454, '4.3.0 try again later');
    await expect(sendStep({ ...base, leadId: first!.id })).rejects.toThrow();
    const chosen = f.hashed(first!.id);
    expect((await pool.query('SELECT status, variant_template_id AS v FROM sends WHERE lead_id = $1', [first!.id])).rows).toEqual([{ status: 'pending', v: chosen }]);

    // Meanwhile the step's winner is decided for the other variant.
    const other = chosen === f.a ? f.b : f.a;
    await pool.query(
      `INSERT INTO campaign_variant_decisions (campaign_id, client_id, step, template_id, metric, after_sends, reason, tallies) VALUES ($1, $2, 0, $3, 'reply_rate', 1000, 'test', '[]')`,
      [f.campaignId, f.clientId, other],
    );
    // The retry (and a new run's attempt: the same input) renders what the first attempt chose.
    sink.acceptRecipient(first!.email);
    expect(await sendStep({ ...base, leadId: first!.id })).toMatchObject({ status: 'sent', replayed: false });
    expect(await variantOf(first!.id)).toBe(chosen);
    expect(received(first!.email).map((m) => m.headers.subject)).toEqual([f.subjectOf[chosen]]);
    expect(await sendStep({ ...base, leadId: first!.id })).toMatchObject({ status: 'sent', replayed: true }); // a new run again: nothing re-sent
    expect(received(first!.email)).toHaveLength(1);

    // A lead not yet sent gets the decided winner, whatever its hash.
    for (const l of rest.slice(8)) {
      await sendStep({ ...base, leadId: l.id });
      expect(await variantOf(l.id)).toBe(other);
      expect(received(l.email).map((m) => m.headers.subject)).toEqual([f.subjectOf[other]]);
    }
  }, 60_000);

  it('the winner rule switches only once every variant has N sends: best reply rate wins, stored and logged; pinned versions are sent', async () => {
    const f = await fixture(40, { metric: 'reply_rate', after: 2 });
    // An edit after the start makes a new version; the campaign keeps sending the pinned one.
    await withTransaction(pool, (tx) => editTemplate(tx, f.clientId, f.b, (t) => ({ ...t, subject: `Edited B ${f.tag}` })));
    const base = { campaignId: f.campaignId, mailboxId: f.mailboxId, step: 0 };
    const byHash = { [f.a]: f.leads.filter((l) => f.hashed(l.id) === f.a), [f.b]: f.leads.filter((l) => f.hashed(l.id) === f.b) };
    expect(byHash[f.a]!.length).toBeGreaterThanOrEqual(4);
    expect(byHash[f.b]!.length).toBeGreaterThanOrEqual(2);
    const send = async (l: { id: string; email: string }) => {
      expect(await sendStep({ ...base, leadId: l.id })).toMatchObject({ status: 'sent' });
      const v = (await variantOf(l.id))!;
      expect(received(l.email).map((m) => m.headers.subject)).toEqual([f.subjectOf[v]]);
      return v;
    };
    const decisions = async () => (await pool.query('SELECT template_id, tallies FROM campaign_variant_decisions WHERE campaign_id = $1', [f.campaignId])).rows;
    const reply = async (leadId: string) => {
      const { rows: [s] } = await pool.query<{ id: string }>('SELECT id FROM sends WHERE lead_id = $1', [leadId]);
      await pool.query(
        `INSERT INTO events (id, client_id, send_id, provider_kind, type, dedupe_key, payload, occurred_at) VALUES ($1, $2, $3, 'imap', 'replied', $4, '{}', now())`,
        [uuidv7(), f.clientId, s!.id, `imap:${randomUUID()}`],
      );
    };

    const [a0, a1, a2, a3] = byHash[f.a]!;
    const [b0, b1] = byHash[f.b]!;
    expect(await send(a0!)).toBe(f.a);
    expect(await send(a1!)).toBe(f.a);
    expect(await send(b0!)).toBe(f.b);
    await reply(b0!.id); // B: 1 of 1 replied, A: 0 of 2
    // A has 2 sends, B 1: too few; the next lead still gets its hash (A), and so does B's second.
    expect(await send(a2!)).toBe(f.a);
    expect(await decisions()).toEqual([]);
    expect(await send(b1!)).toBe(f.b);
    expect(await decisions()).toEqual([]); // decided before that send, when B had 1
    expect(logLines.some((l) => l.includes(f.campaignId) && l.includes('variant winner decided'))).toBe(false);

    // Now A has 3 sends (0 replies), B 2 (1 reply): the next lead, hashed to A, gets B.
    expect(await send(a3!)).toBe(f.b);
    expect(await decisions()).toEqual([{
      template_id: f.b,
      tallies: [{ templateId: f.a, sent: 3, replied: 0, rate: 0 }, { templateId: f.b, sent: 2, replied: 1, rate: 0.5 }],
    }]);
    const logged = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.campaignId === f.campaignId && String(l.msg).startsWith('variant winner decided'));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ step: 0, templateId: f.b, metric: 'reply_rate', after: 2 });

    // Every remaining lead gets B, whatever its hash, even once A's replies come in (A now 3 of 3): the decision stands.
    for (const l of [a0, a1, a2]) await reply(l!.id);
    const remaining = f.leads.filter((l) => ![a0, a1, a2, a3, b0, b1].includes(l));
    for (const l of remaining) expect(await send(l)).toBe(f.b);
    expect(await decisions()).toHaveLength(1);
    const subjects = new Set(sink.received.filter((m) => f.leads.some((l) => l.email === m.to[0])).map((m) => m.headers.subject));
    expect([...subjects].sort()).toEqual([`Variant A ${f.tag}`, `Variant B ${f.tag}`]); // never the edited B
  }, 120_000);
});
