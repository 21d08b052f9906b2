/**
 * The lane's clock (issue 10): a campaign lane passes its workflow time
 * (`now`) to reserveBatch, sendBatch and sendStep, and what is due, when a
 * slot comes and the instants a send records are read on it, not on the
 * database's now() or the process clock. Without `now` (callers recorded
 * before it) they behave as before. Real PostgreSQL, a real SMTP server, the
 * activity run in Temporal's mock activity environment.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { createActivities } from '../../activities';
import { ProviderRegistry } from '../../activities/providers/registry';
import { SecretBox } from '../../core/crypto';
import { createLogger } from '../../core/logger';
import { createPool } from '../../db/pool';
import { createCampaign, transitionCampaign } from '../../db/repositories/campaigns';
import { createClient } from '../../db/repositories/clients';
import { advanceLead, availableWork, claimWork } from '../../db/repositories/lead-work';
import { insertLeads } from '../../db/repositories/leads';
import { insertMailboxes } from '../../db/repositories/mailboxes';
import { createProviderAccount } from '../../db/repositories/providers';
import { claimSend, markSent } from '../../db/repositories/sends';
import { createTemplate } from '../../db/repositories/templates';
import type { SendBatchInput, SendBatchOutput } from '../../activities/send-step.activity';
import { SmtpSink } from '../fakes/smtp-sink';
import { testEnv } from '../helpers/test-env';

const DAY = 86_400_000;

describe('the lane clock: due work, slot sleeps and send instants on the workflow’s time (PostgreSQL)', () => {
  let pool: Pool;
  let sink: SmtpSink;
  let providers: ProviderRegistry;
  const box = new SecretBox(randomBytes(32).toString('base64'));

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

  /** A running two-step campaign (follow-up after 2 days) on one always-open mailbox, with `leads` leads. */
  async function fixture(leads: number) {
    const tag = randomUUID().slice(0, 8);
    const client = await createClient(pool, { name: `clock-${tag}`, physicalAddress: '1 Main St' });
    const provider = await createProviderAccount(pool, box, {
      name: `smtp-${tag}`, kind: 'smtp', config: { host: '127.0.0.1', port: sink.port, secure: false, requireTls: false },
    });
    const { inserted } = await insertMailboxes(pool, [{
      clientId: client.id, address: `mb-${tag}@send.example.com`, displayName: null, pool: `p-${tag}`, providerIds: [provider.id], timezone: 'UTC',
      window: { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '00:00', end: '24:00' },
      limits: { dailyMax: 1000, hourlyMax: 1000, minIntervalSeconds: 0, jitterRatio: 0 }, warmup: null,
    }]);
    const mailboxId = inserted[0]!.id;
    const template = await createTemplate(pool, client.id, { name: 't', subject: 'Hi', text: 'Hi.\n{{unsubscribeUrl}}' });
    const campaign = await createCampaign(pool, client.id, {
      name: `clock-${tag}`, mailboxes: { pool: `p-${tag}` },
      steps: [{ templateId: template.id, delayDays: 0 }, { templateId: template.id, delayDays: 2 }],
    });
    await transitionCampaign(pool, client.id, campaign.id, ['draft'], 'running');
    const emails = Array.from({ length: leads }, (_, i) => `l${i}-${tag}@leads.example.org`);
    await insertLeads(pool, client.id, campaign.id, emails.map((email) => ({ email, vars: {} })));
    await pool.query('UPDATE leads SET mailbox_id = $2 WHERE campaign_id = $1', [campaign.id, mailboxId]);
    const { rows } = await pool.query<{ id: string }>('SELECT id FROM leads WHERE campaign_id = $1 ORDER BY id', [campaign.id]);
    return { clientId: client.id, campaignId: campaign.id, mailboxId, providerId: provider.id, leadIds: rows.map((r) => r.id), emails };
  }

  const activities = () =>
    createActivities({
      pool, providers, logger: createLogger('silent'), clock: () => new Date(), client: {} as never,
      publicBaseUrl: 'http://localhost', unsubscribeKey: randomBytes(32),
    });
  /** One sendBatch attempt, as Temporal would run it. */
  const runBatch = (input: SendBatchInput): Promise<SendBatchOutput> => new MockActivityEnvironment().run(activities().sendBatch, input);

  it('a follow-up is due at the caller’s instant (availableWork, claimWork), and at the database’s now() without one', async () => {
    const f = await fixture(1);
    const lead = f.leadIds[0]!;
    const sentAt = Date.now() + 3 * DAY; // a workflow clock three days ahead of this one
    await advanceLead(pool, lead, 0, 2, sentAt);
    const { rows } = await pool.query<{ status: string; next_due_at: Date }>('SELECT status, next_due_at FROM leads WHERE id = $1', [lead]);
    expect(rows[0]!.status).toBe('active');
    expect(rows[0]!.next_due_at.getTime()).toBe(sentAt + 2 * DAY);
    const due = sentAt + 2 * DAY;

    expect((await availableWork(pool, f.campaignId, f.mailboxId, 10)).own).toBe(0); // the database's now(): days early
    const early = await availableWork(pool, f.campaignId, f.mailboxId, 10, due - 1);
    expect(early).toMatchObject({ own: 0, nextDueAt: due });
    expect(await claimWork(pool, f.campaignId, f.mailboxId, 1, null, due - 1)).toEqual([]);
    expect(await availableWork(pool, f.campaignId, f.mailboxId, 10, due)).toMatchObject({ own: 1, ownNew: 0, steps: [1] });
    expect(await claimWork(pool, f.campaignId, f.mailboxId, 1, null, due)).toEqual([{ leadId: lead, step: 1 }]);
  });

  it('advanceLead without an instant schedules from the database’s now(); claimSend and markSent record the given instants', async () => {
    const f = await fixture(2);
    const before = Date.now();
    await advanceLead(pool, f.leadIds[0]!, 0, 2);
    const { rows } = await pool.query<{ next_due_at: Date }>('SELECT next_due_at FROM leads WHERE id = $1', [f.leadIds[0]]);
    expect(rows[0]!.next_due_at.getTime()).toBeGreaterThanOrEqual(before + 2 * DAY - 5_000);
    expect(rows[0]!.next_due_at.getTime()).toBeLessThan(Date.now() + 2 * DAY + 5_000);

    const at = Date.now() + 5 * DAY;
    const claim = await claimSend(pool, { clientId: f.clientId, campaignId: f.campaignId, leadId: f.leadIds[1]!, step: 0, mailboxId: f.mailboxId }, { at });
    if (!claim.claimed) throw new Error('not claimed');
    await markSent(pool, claim.row.id, { providerAccountId: f.providerId, providerMessageId: 'm', messageIdHeader: '<m@x>', slotAt: at, sentAt: at + 250 });
    const sent = await pool.query<{ created_at: Date; sent_at: Date; slot_at: Date }>('SELECT created_at, sent_at, slot_at FROM sends WHERE id = $1', [claim.row.id]);
    expect(sent.rows[0]!.created_at.getTime()).toBe(at);
    expect(sent.rows[0]!.slot_at.getTime()).toBe(at);
    expect(sent.rows[0]!.sent_at.getTime()).toBe(at + 250);
  });

  it('sendBatch with the lane’s now sleeps only each slot’s offset from it, and records its instants on that clock', async () => {
    const f = await fixture(3);
    const now = Date.now() + 2 * DAY; // a time-skipped workflow clock: two days ahead
    const slots = [now, now + 400, now + 800];
    const wall = Date.now();
    const out = await runBatch({ campaignId: f.campaignId, mailboxId: f.mailboxId, requestId: `b-${randomUUID()}`, slots, now });
    const took = Date.now() - wall;
    expect(out.results).toEqual(['sent', 'sent', 'sent']);
    expect(took).toBeGreaterThanOrEqual(750); // the last slot is 800 ms after the first
    expect(took).toBeLessThan(30_000); // not the two days between the clocks
    const { rows } = await pool.query<{ slot_at: Date; sent_at: Date; created_at: Date; next_due_at: Date }>(
      `SELECT s.slot_at, s.sent_at, s.created_at, l.next_due_at FROM sends s JOIN leads l ON l.id = s.lead_id
       WHERE s.campaign_id = $1 ORDER BY s.slot_at`,
      [f.campaignId],
    );
    expect(rows.map((r) => r.slot_at.getTime())).toEqual(slots);
    rows.forEach((r, i) => {
      // On the lane's clock: not before the slot, and no later than the slot plus the real time the batch took.
      expect(r.sent_at.getTime()).toBeGreaterThanOrEqual(slots[i]!);
      expect(r.sent_at.getTime()).toBeLessThanOrEqual(now + took);
      expect(r.created_at.getTime()).toBeGreaterThanOrEqual(now);
      expect(r.next_due_at.getTime()).toBeGreaterThanOrEqual(slots[i]! + 2 * DAY);
      expect(r.next_due_at.getTime()).toBeLessThanOrEqual(now + took + 2 * DAY);
    });
    expect(sink.received.filter((m) => f.emails.includes(m.to[0]!))).toHaveLength(3);

    // Two days later on the lane's clock the follow-ups are due, and only then.
    const early = await runBatch({ campaignId: f.campaignId, mailboxId: f.mailboxId, requestId: `b-${randomUUID()}`, slots: [now + DAY], now: now + DAY });
    expect(early.results).toEqual([]);
    const later = now + 2 * DAY + took;
    const due = await runBatch({ campaignId: f.campaignId, mailboxId: f.mailboxId, requestId: `b-${randomUUID()}`, slots: [later, later, later], now: later });
    expect(due.results).toEqual(['sent', 'sent', 'sent']);
  });
});
