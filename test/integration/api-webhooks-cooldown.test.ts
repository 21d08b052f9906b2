import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { createActivities } from '../../activities';
import { ProviderRegistry } from '../../activities/providers/registry';
import { applyFeedbackEvents } from '../../services/feedback';
import { SecretBox } from '../../core/crypto';
import { createLogger } from '../../core/logger';
import type { FeedbackEvent } from '../../core/webhooks/events';
import { createPool } from '../../db/pool';
import { mailboxWorkflowId } from '../../workflows/ids';
import { mailboxWorkflow, reserveSlotUpdate, stateQuery } from '../../workflows/mailbox.workflow';
import type { MailboxPolicySettings } from '../../workflows/policy';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { testConfig } from '../helpers/stack';
import { testEnv } from '../helpers/test-env';
import { createTimeSkippingEnv, timeSkippingDataConverter } from '../helpers/time-skipping';

const HOUR = 3_600_000;

/**
 * The feedback loop against the mailbox workflow on the time-skipping test
 * server: 3 hard bounces on a day's 50 sends breach the one reputation rule
 * and cool the mailbox down for 12 h, and it grants slots again by itself
 * once the cooldown is over.
 */
describe('feedback cooldown (time-skipping)', () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  let pool: Pool;
  const taskQueue = `feedback-${randomUUID()}`;

  beforeAll(async () => {
    env = await createTimeSkippingEnv();
    await env.connection.operatorService.addSearchAttributes({
      namespace: env.namespace ?? 'default',
      searchAttributes: Object.fromEntries(Object.keys(SEARCH_ATTRIBUTES).map((k) => [k, 2 /* KEYWORD */])),
    });
    pool = createPool(testEnv('databaseUrl'), 3);
    worker = await Worker.create({
      connection: env.nativeConnection,
      ...timeSkippingDataConverter,
      taskQueue,
      workflowsPath: require.resolve('../../workflows/index'),
      activities: createActivities({
        pool,
        providers: new ProviderRegistry(pool, new SecretBox(randomBytes(32).toString('base64'))),
        logger: createLogger('silent'),
        clock: () => new Date(),
        client: env.client,
        publicBaseUrl: 'http://localhost',
        unsubscribeKey: randomBytes(32),
      }),
    });
    running = worker.run();
  });
  afterAll(async () => {
    worker?.shutdown();
    await running;
    await pool?.end();
    await env?.teardown();
  });

  /** A mailbox (row and workflow) with a day's 50 accepted sends, one lead each. */
  async function mailboxWith50Sends() {
    const clientId = randomUUID();
    const campaignId = randomUUID();
    const mailboxId = randomUUID();
    const address = `mb-${randomUUID().slice(0, 8)}@send.example.com`;
    const window = { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '00:00', end: '24:00' };
    const limits = { dailyMax: 1000, hourlyMax: 500, minIntervalSeconds: 1, jitterRatio: 0 };
    await pool.query('INSERT INTO clients (id, name) VALUES ($1, $2)', [clientId, 'c']);
    await pool.query(`INSERT INTO campaigns (id, client_id, name, status, steps, mailbox_selector) VALUES ($1, $2, 'c', 'completed', '[]', '{}')`, [campaignId, clientId]);
    // The SES account the sends went out through (events match a message id among that provider's sends).
    const accountId = randomUUID();
    await pool.query(`INSERT INTO provider_accounts (id, name, kind, config_encrypted) VALUES ($1, $2, 'ses', 'unused')`, [accountId, `ses-${accountId.slice(0, 8)}`]);
    await pool.query(`INSERT INTO mailboxes (id, client_id, address, provider_ids, send_window, limits) VALUES ($1, $2, $3, $4, $5, $6)`, [mailboxId, clientId, address, [accountId], JSON.stringify(window), JSON.stringify(limits)]);
    const sends: { id: string; email: string }[] = [];
    for (let i = 0; i < 50; i++) {
      const leadId = randomUUID();
      const sendId = randomUUID();
      const email = `lead${i}-${clientId.slice(0, 8)}@leads.example.org`;
      await pool.query(`INSERT INTO leads (id, client_id, campaign_id, email, status, mailbox_id) VALUES ($1, $2, $3, $4, 'done', $5)`, [leadId, clientId, campaignId, email, mailboxId]);
      await pool.query(
        `INSERT INTO sends (id, client_id, campaign_id, lead_id, step, mailbox_id, provider_account_id, provider_message_id, status, sent_at) VALUES ($1, $2, $3, $4, 0, $5, $6, $7, 'sent', now())`,
        [sendId, clientId, campaignId, leadId, mailboxId, accountId, `ses-${sendId}`],
      );
      sends.push({ id: sendId, email });
    }
    const settings: MailboxPolicySettings = { timezone: 'UTC', window: window as MailboxPolicySettings['window'], limits, warmup: null };
    const handle = await env.client.workflow.start(mailboxWorkflow, {
      taskQueue, workflowId: mailboxWorkflowId(address), args: [{ mailboxId, address, settings }],
    });
    return { clientId, mailboxId, handle, sends };
  }

  const hardBounce = (send: { id: string; email: string }): FeedbackEvent => ({
    provider: 'ses', eventId: randomUUID(), type: 'bounced', providerMessageId: `ses-${send.id}`, correlationId: null,
    recipient: send.email, occurredAt: new Date(), payload: {},
  });

  it('3 bounces in 50 sends cool the mailbox down for 12 h with an alert; it grants slots again afterwards', async () => {
    const m = await mailboxWith50Sends();
    const config = testConfig();
    const log = createLogger('silent');
    const deps = { pool, temporal: env.client, config, box: new SecretBox(config.CREDENTIALS_KEY!), log };

    await applyFeedbackEvents(deps, [hardBounce(m.sends[0]!)]);
    await applyFeedbackEvents(deps, [hardBounce(m.sends[1]!)]);
    // 2 in 50 (4%, lower bound 1.3%): no verdict, and the workflow judges nothing itself.
    expect((await m.handle.query(stateQuery, await env.currentTimeMs())).status).toBe('active');
    expect((await pool.query('SELECT count(*)::int AS n FROM alerts WHERE subject_id = $1', [m.mailboxId])).rows[0].n).toBe(0);

    const t0 = await env.currentTimeMs();
    await applyFeedbackEvents(deps, [hardBounce(m.sends[2]!)]);
    const cooling = await m.handle.query(stateQuery, await env.currentTimeMs());
    expect(cooling.status).toBe('cooling_down');
    expect(Date.parse(cooling.cooldownUntil!)).toBeGreaterThanOrEqual(t0 + 12 * HOUR);
    expect((await pool.query('SELECT kind, message FROM alerts WHERE subject_id = $1', [m.mailboxId])).rows).toEqual([
      { kind: 'mailbox_bounce_rate', message: `mailbox ${m.mailboxId}: bounce rate 6.00% (3 of 50 sends; lower bound 2.42% at 95%) is above 2.00%; cooling down for 12 h` },
    ]);
    const during = await m.handle.executeUpdate(reserveSlotUpdate, { args: [{ requestId: 'r1', campaignId: 'c' }] });
    // No slot now: the earliest is past the cooldown, beyond the grant horizon.
    expect(during.granted).toBe(false);
    if (!during.granted) expect(during.retryAt === null || during.retryAt >= Date.parse(cooling.cooldownUntil!) - 6 * HOUR).toBe(true);

    await env.sleep(12 * HOUR + 60_000);
    const after = await m.handle.query(stateQuery, await env.currentTimeMs());
    expect(after).toMatchObject({ status: 'active', cooldownUntil: null });
    const next = await m.handle.executeUpdate(reserveSlotUpdate, { args: [{ requestId: 'r2', campaignId: 'c2' }] });
    expect(next.granted && next.at <= (await env.currentTimeMs()) + 1000).toBe(true);
  }, 120_000);
});
