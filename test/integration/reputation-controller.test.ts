import { randomUUID } from 'node:crypto';
import { uuidv7 } from '../../core/ids';
import { selectCampaignMailboxes } from '../../db/repositories/mailboxes';
import { mailboxStats } from '../../db/repositories/reputation';
import { withTransaction } from '../../db/pool';
import { judgeMailboxFeedback } from '../../services/mailbox-verdict';
import { DEFAULT_MAILBOX_RULE } from '../../workflows/policy/mailbox-reputation';
import { createLogger } from '../../core/logger';
import { mailboxWorkflowId } from '../../workflows/ids';
import { stateQuery } from '../../workflows/mailbox.workflow';
import { reputationWorkflow, rotationWorkflow } from '../../workflows';
import { createTestDatabase } from '../helpers/databases';
import { bearer, eventually, json, newClient, newSmtpProvider, startStack, type Stack } from '../helpers/stack';
import { testEnv } from '../helpers/test-env';
import { verifyStackDomains } from '../helpers/verified-domains';

/**
 * The reputation controller and the daily rotation, run once each through
 * the Temporal client on the dev server, against their own database (the
 * controller looks at every row, so no other test's data may be in it).
 */
describe('reputation controller and daily rotation (dev server, PostgreSQL)', () => {
  let stack: Stack;
  let db: { url: string; drop(): Promise<void> };

  beforeAll(async () => {
    db = await createTestDatabase(testEnv('adminDatabaseUrl'), 'outreach_reputation');
    stack = await startStack({ worker: true, env: { DATABASE_URL: db.url } });
  });
  afterAll(async () => {
    await stack?.close();
    await db?.drop();
  });

  const runController = () =>
    stack.temporal.workflow.execute(reputationWorkflow, { taskQueue: stack.config.TEMPORAL_TASK_QUEUE, workflowId: `reputation-test-${randomUUID()}` });
  const runRotation = () =>
    stack.temporal.workflow.execute(rotationWorkflow, { taskQueue: stack.config.TEMPORAL_TASK_QUEUE, workflowId: `rotation-test-${randomUUID()}`, args: [{ force: true }] });

  async function seedAttempts(accountId: string, total: number, failures: number) {
    await stack.pool.query(
      `INSERT INTO provider_attempts (provider_account_id, ok, error_class)
       SELECT $1, g > $3, CASE WHEN g > $3 THEN NULL ELSE 'transient' END FROM generate_series(1, $2) g`,
      [accountId, total, failures],
    );
  }

  /** `total` sends of a mailbox in the window: the first `bounced` bounced, the next `failed` failed, the rest sent. */
  async function seedSends(clientId: string, mailboxId: string, total: number, bounced: number, failed: number) {
    const campaignId = uuidv7();
    await stack.pool.query(
      `INSERT INTO campaigns (id, client_id, name, status, steps, mailbox_selector) VALUES ($1, $2, 'seed', 'running', '[]', '{}')`,
      [campaignId, clientId],
    );
    await stack.pool.query(
      `WITH l AS (
         INSERT INTO leads (id, client_id, campaign_id, email, status)
         SELECT gen_random_uuid(), $1, $2, 'lead' || g || '@example.org', 'done' FROM generate_series(1, $4) g
         RETURNING id, email)
       INSERT INTO sends (id, client_id, campaign_id, lead_id, step, mailbox_id, status, sent_at)
       SELECT gen_random_uuid(), $1, $2, l.id, 0, $3,
              CASE WHEN n <= $5 THEN 'bounced' WHEN n <= $5 + $6 THEN 'failed' ELSE 'sent' END, now()
       FROM (SELECT id, row_number() OVER (ORDER BY email) AS n FROM l) l`,
      [clientId, campaignId, mailboxId, total, bounced, failed],
    );
  }

  /** Imports one mailbox, its domain proved first (the real path, on the stack's DNS server, with passing records). */
  async function importMailbox(apiKey: string, address: string, providers: string[]): Promise<string> {
    await verifyStackDomains(stack, apiKey, [address]);
    const res = await stack.app.inject({
      method: 'POST', url: '/v1/mailboxes', headers: bearer(apiKey),
      payload: { mailboxes: [{ address, providers, pool: 'rep' }] },
    });
    expect(res.statusCode).toBe(201);
    return json<{ ids: string[] }>(res).ids[0]!;
  }

  const liveStatus = (address: string) => stack.temporal.workflow.getHandle(mailboxWorkflowId(address)).query(stateQuery, Date.now()).then((s) => s.status);

  it('switches a provider account with 10% failures over the window in one run, and leaves one at 5% alone', async () => {
    const bad = await newSmtpProvider(stack, 2525);
    const fine = await newSmtpProvider(stack, 2526);
    await seedAttempts(bad.id, 100, 10);
    await seedAttempts(fine.id, 100, 5);

    const result = await runController();
    expect(result.decisions).toContainEqual(expect.objectContaining({ kind: 'open_provider', accountId: bad.id }));
    expect(result.decisions.some((d) => d.kind === 'open_provider' && d.accountId === fine.id)).toBe(false);
    expect(result.providersSwitched).toBe(1);

    const health = await stack.pool.query<{ id: string; state: string; probe_at: Date | null }>(
      'SELECT provider_account_id AS id, state, probe_at FROM provider_health WHERE provider_account_id = ANY($1::uuid[])',
      [[bad.id, fine.id]],
    );
    expect(health.rows).toEqual([expect.objectContaining({ id: bad.id, state: 'open' })]);
    expect(health.rows[0]!.probe_at).not.toBeNull();
    const switches = await stack.pool.query<{ id: string; from_state: string; to_state: string; reason: string }>(
      'SELECT provider_account_id AS id, from_state, to_state, reason FROM provider_switches WHERE provider_account_id = ANY($1::uuid[])',
      [[bad.id, fine.id]],
    );
    expect(switches.rows).toEqual([
      { id: bad.id, from_state: 'closed', to_state: 'open', reason: expect.stringMatching(/^reputation controller: failure rate 10\.00% over 100 attempts/) },
    ]);
    const alerts = await stack.pool.query('SELECT kind FROM alerts WHERE subject_type = $1 AND subject_id = $2', ['provider', bad.id]);
    expect(alerts.rows).toEqual([{ kind: 'provider_switched' }]);

    // A second run finds the breaker open: no second switch, no second alert.
    const again = await runController();
    expect(again.providersSwitched).toBe(0);
    const count = await stack.pool.query('SELECT count(*)::int AS n FROM provider_switches WHERE provider_account_id = $1', [bad.id]);
    expect(count.rows[0].n).toBe(1);

    // Its probe succeeds and the breaker closes: the failures from before do not switch it again...
    await stack.pool.query("UPDATE provider_health SET state = 'closed', updated_at = now() WHERE provider_account_id = $1", [bad.id]);
    expect((await runController()).providersSwitched).toBe(0);
    // ...new ones do.
    await seedAttempts(bad.id, 20, 2);
    const later = await runController();
    expect(later.providersSwitched).toBe(1);
    const total = await stack.pool.query('SELECT count(*)::int AS n FROM provider_switches WHERE provider_account_id = $1', [bad.id]);
    expect(total.rows[0].n).toBe(2);
  });

  it('rests a mailbox whose day of 50 sends breaches the one rule, with an alert naming the rate and the sample; the daily rotation returns it after the rest and rotates its providers', async () => {
    const client = await newClient(stack);
    const p1 = await newSmtpProvider(stack, 2527);
    const p2 = await newSmtpProvider(stack, 2528);
    const address = `rest-${randomUUID().slice(0, 8)}@resting.example.com`;
    const mailboxId = await importMailbox(client.apiKey, address, [p1.name, p2.name]);
    const calm = await importMailbox(client.apiKey, `calm-${randomUUID().slice(0, 8)}@resting.example.com`, [p1.name]);
    // A day at 50 a day: 3 bounces breach (bound 2.4% > 2%); 2 do not (the old rule needed 100 sends in 24 h, and never fired).
    await seedSends(client.id, mailboxId, 50, 3, 0);
    await seedSends(client.id, calm, 50, 2, 0);
    await eventually(async () => (await liveStatus(address)) === 'active');
    // The controller reads mailboxes a page at a time, in id order.
    const first = await mailboxStats(stack.pool, DEFAULT_MAILBOX_RULE, { afterId: null, limit: 1 });
    const second = await mailboxStats(stack.pool, DEFAULT_MAILBOX_RULE, { afterId: first[0]!.mailboxId, limit: 1 });
    expect([...first, ...second].map((m) => [m.mailboxId, m.sends, m.bounced])).toEqual(
      [[mailboxId, 50, 3], [calm, 50, 2]].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );

    const result = await runController();
    expect(result.decisions).toContainEqual(expect.objectContaining({ kind: 'rest_mailbox', mailboxId }));
    expect(result.decisions.some((d) => 'mailboxId' in d && d.mailboxId === calm)).toBe(false);
    expect(await liveStatus(address)).toBe('paused');
    const stored = await stack.pool.query('SELECT status FROM mailboxes WHERE id = $1', [mailboxId]);
    expect(stored.rows[0].status).toBe('paused');
    const alerts = await stack.pool.query('SELECT kind, client_id, message FROM alerts WHERE subject_type = $1 AND subject_id = $2', ['mailbox', mailboxId]);
    expect(alerts.rows).toEqual([{
      kind: 'mailbox_rested', client_id: client.id,
      message: expect.stringMatching(new RegExp(`^mailbox ${mailboxId}: bounce rate 6\\.00% \\(3 of 50 sends; lower bound 2\\.42% at 95%\\) is above 2\\.00%; resting until \\d{4}-`)),
    }]);
    expect((await stack.pool.query('SELECT count(*)::int AS n FROM alerts WHERE subject_id = $1', [calm])).rows[0].n).toBe(0);

    // Before its rest is over, the rotation leaves it resting; it rotates the client's two providers (first run of its day).
    const before = await stack.pool.query<{ provider_ids: string[] }>('SELECT provider_ids FROM mailboxes WHERE id = $1', [mailboxId]);
    const early = await runRotation();
    expect(early.returned).toBe(0);
    expect(early.scopes).toContainEqual({ scope: client.id, localDate: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) });
    expect(await liveStatus(address)).toBe('paused');
    const earlyLog = await stack.pool.query<{ action: string; subject_id: string }>('SELECT action, subject_id FROM rotation_log WHERE run_id = $1', [early.runId]);
    expect(earlyLog.rows).toContainEqual({ action: 'providers_rotated', subject_id: `${client.id}/rep` });

    // Its rest is over: the next rotation returns it. The client's day is rotated already: its providers stay put.
    await stack.pool.query("UPDATE mailbox_rests SET rest_until = now() - interval '1 minute' WHERE mailbox_id = $1", [mailboxId]);
    const run = await runRotation();
    expect(run.returned).toBe(1);
    expect(run.scopes.map((s) => s.scope)).not.toContain(client.id);
    expect(await liveStatus(address)).toBe('active');
    const after = await stack.pool.query<{ status: string; provider_ids: string[] }>('SELECT status, provider_ids FROM mailboxes WHERE id = $1', [mailboxId]);
    expect(after.rows[0]!.status).toBe('active');
    expect(after.rows[0]!.provider_ids).toEqual([...before.rows[0]!.provider_ids].reverse());
    const log = await stack.pool.query<{ action: string; subject_id: string }>('SELECT action, subject_id FROM rotation_log WHERE run_id = $1 ORDER BY action', [run.runId]);
    expect(log.rows).toEqual(expect.arrayContaining([{ action: 'mailbox_returned', subject_id: mailboxId }]));
    expect(log.rows.filter((r) => r.action === 'providers_rotated')).toEqual([]);

    // Its old bounces were before its return: the next controller run does not rest it again.
    const next = await runController();
    expect(next.decisions.some((d) => 'mailboxId' in d && d.mailboxId === mailboxId)).toBe(false);
  });

  it('does not judge again what the feedback path judged: after its cooldown alert the sample starts afresh', async () => {
    const client = await newClient(stack);
    const p = await newSmtpProvider(stack, 2530);
    const address = `fed-${randomUUID().slice(0, 8)}@feedback.example.com`;
    const mailboxId = await importMailbox(client.apiKey, address, [p.name]);
    await seedSends(client.id, mailboxId, 50, 3, 0);
    await eventually(async () => (await liveStatus(address)) === 'active');
    // The bounce that made it 3 in 50 arrived through the feedback path: the same rule, an alert and a cooldown.
    const log = createLogger('silent');
    const judged = await withTransaction(stack.pool, (tx) =>
      judgeMailboxFeedback({ temporal: stack.temporal, rule: DEFAULT_MAILBOX_RULE, log }, tx, { mailboxId, clientId: client.id, outcome: 'bounced', requestId: `test:${randomUUID()}` }),
    );
    expect(judged.judgement.breaches.map((b) => b.signal)).toEqual(['bounce']);
    expect(await liveStatus(address)).toBe('cooling_down');

    const result = await runController();
    expect(result.decisions.some((d) => 'mailboxId' in d && d.mailboxId === mailboxId)).toBe(false);
    const alerts = await stack.pool.query('SELECT kind FROM alerts WHERE subject_type = $1 AND subject_id = $2', ['mailbox', mailboxId]);
    expect(alerts.rows).toEqual([{ kind: 'mailbox_bounce_rate' }]);
  });

  it('takes a sending domain under 95% delivery out of rotation, rests its mailboxes and keeps them from new campaigns', async () => {
    const client = await newClient(stack);
    const p = await newSmtpProvider(stack, 2529);
    const domain = `d${randomUUID().slice(0, 8)}.example.net`;
    const created = await stack.app.inject({ method: 'POST', url: '/v1/domains', headers: bearer(client.apiKey), payload: { domain, dkimSelector: 's1' } });
    expect(created.statusCode).toBe(201);
    const domainId = json<{ id: string }>(created).id;
    const address = `a-${randomUUID().slice(0, 8)}@${domain}`;
    const mailboxId = await importMailbox(client.apiKey, address, [p.name]);
    // 1% bounces (under the mailbox threshold) and 5% failures: 94% delivered.
    await seedSends(client.id, mailboxId, 100, 1, 5);
    await eventually(async () => (await liveStatus(address)) === 'active');
    expect((await selectCampaignMailboxes(stack.pool, client.id, { pool: 'rep' })).map((m) => m.id)).toContain(mailboxId);

    const result = await runController();
    expect(result.decisions).toContainEqual(expect.objectContaining({ kind: 'domain_out', domainId }));
    expect(result.domainsOut).toBe(1);
    expect(await liveStatus(address)).toBe('paused');
    expect((await selectCampaignMailboxes(stack.pool, client.id, { pool: 'rep' })).map((m) => m.id)).not.toContain(mailboxId);

    const listed = await stack.app.inject({ method: 'GET', url: '/v1/domains', headers: bearer(client.apiKey) });
    expect(json<{ items: { id: string; inRotation: boolean; usable: boolean; rotationReason: string }[] }>(listed).items).toEqual([
      expect.objectContaining({ id: domainId, inRotation: false, usable: false, rotationReason: expect.stringMatching(/delivery rate 94\.00%/) }),
    ]);
    const alerts = await stack.pool.query('SELECT kind FROM alerts WHERE subject_type = $1 AND subject_id = $2', ['domain', domainId]);
    expect(alerts.rows).toEqual([{ kind: 'domain_out_of_rotation' }]);
  });
});
