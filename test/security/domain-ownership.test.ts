import { WorkflowNotFoundError } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { buildApp } from '../../api/app';
import { createLogger } from '../../core/logger';
import { SecretBox } from '../../core/crypto';
import { startMailboxWorkflows } from '../../api/lifecycle/mailbox';
import { DEFAULT_LIMITS, DEFAULT_WINDOW } from '../../workflows/policy/defaults';
import { uuidv7 } from '../../core/ids';
import { insertMailboxes, selectCampaignMailboxes } from '../../db/repositories/mailboxes';
import { reputationWorkflow, rotationWorkflow } from '../../workflows';
import { mailboxWorkflowId } from '../../workflows/ids';
import { stateQuery } from '../../workflows/mailbox.workflow';
import { passingRecords, startDnsServer } from '../fakes/dns-server';
import { SmtpSink } from '../fakes/smtp-sink';
import { createTestDatabase } from '../helpers/databases';
import { bearer, eventually, json, newClient, newSmtpProvider, startStack, type Stack } from '../helpers/stack';
import { testEnv } from '../helpers/test-env';

/**
 * Issue 11, point 3: a sending domain is a client's only once it proves
 * control over DNS, another client's claim never touches it, and imports
 * accept only addresses at domains their importer has verified. Every proof
 * here goes through the real path: a TXT record on the local DNS server and
 * POST /v1/domains/:id/verify. Own database: the hourly check judges every
 * domain in it.
 */
interface DomainView {
  id: string;
  clientId: string | null;
  domain: string;
  usable: boolean;
  dns: { status: string };
  verification: {
    status: 'pending' | 'verified' | 'superseded';
    method: string | null;
    verifiedAt: string | null;
    record: { type: string; name: string; value: string };
  };
}
interface ErrorBody { error: { code: string; details: { path: string; message: string }[] } }

const ALWAYS_OPEN = { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '00:00', end: '24:00' };
const FAST = { dailyMax: 1000, hourlyMax: 1000, minIntervalSeconds: 0, jitterRatio: 0 };

describe('domain ownership (issue 11.3): squatting, imports at unverified domains, DNS proof, operator override', () => {
  const zone = new Map<string, string[][]>();
  let dns: Awaited<ReturnType<typeof startDnsServer>>;
  let db: { url: string; drop(): Promise<void> };
  let stack: Stack;
  let sink: SmtpSink;
  let provider: string;

  beforeAll(async () => {
    dns = await startDnsServer(zone);
    sink = await new SmtpSink().start();
    db = await createTestDatabase(testEnv('adminDatabaseUrl'), 'outreach_domown');
    stack = await startStack({ worker: true, env: { DATABASE_URL: db.url, DNS_SERVER: dns.address } });
    provider = (await newSmtpProvider(stack, sink.port)).name;
  });
  afterAll(async () => {
    await stack?.close();
    await db?.drop();
    await sink?.stop();
    await dns?.close();
  });

  const inject = (method: 'GET' | 'POST', url: string, key: string, payload?: unknown) =>
    stack.app.inject({ method, url, headers: bearer(key), ...(payload === undefined ? {} : { payload: payload as object }) });
  const register = async (key: string, domain: string, extra: Record<string, unknown> = {}) => {
    const res = await inject('POST', '/v1/domains', key, { domain, ...extra });
    expect({ domain, status: res.statusCode, body: res.statusCode === 201 ? '' : res.body }).toEqual({ domain, status: 201, body: '' });
    return json<DomainView>(res);
  };
  /** Publishes the claim's TXT record (next to whatever is there) and asks for the proof. */
  const prove = async (key: string, claim: DomainView) => {
    const name = claim.verification.record.name;
    zone.set(name, [...(zone.get(name) ?? []), [claim.verification.record.value]]);
    const res = await inject('POST', `/v1/domains/${claim.id}/verify`, key);
    expect({ status: res.statusCode, body: res.statusCode === 200 ? '' : res.body }).toEqual({ status: 200, body: '' });
    return json<DomainView>(res);
  };
  const rows = (mailbox: string, i: number, address: string) => ({ address, pool: mailbox, providers: [provider], warmup: null, window: ALWAYS_OPEN, limits: FAST, displayName: `S${i}` });
  const importAt = (key: string, addresses: string[], pool = `p-${randomUUID().slice(0, 8)}`) =>
    inject('POST', '/v1/mailboxes', key, { mailboxes: addresses.map((a, i) => rows(pool, i, a)) });
  const liveStatus = (address: string) =>
    stack.temporal.workflow.getHandle(mailboxWorkflowId(address)).query(stateQuery, Date.now()).then((s) => s.status);
  const runRotation = () =>
    stack.temporal.workflow.execute(rotationWorkflow, { taskQueue: stack.config.TEMPORAL_TASK_QUEUE, workflowId: `rotation-domown-${randomUUID()}`, args: [{ force: true }] });
  const publishPassing = (domain: string) => { for (const [name, records] of passingRecords(domain)) zone.set(name, records); };
  const mailboxCount = async (clientId: string | null) =>
    Number((await stack.pool.query('SELECT count(*) AS n FROM mailboxes WHERE client_id IS NOT DISTINCT FROM $1', [clientId])).rows[0].n);

  it("domain squatting: B's claims on A's domain and their failing checks never rest A's mailboxes; A's campaign keeps sending", async () => {
    const [a, b, c] = [await newClient(stack), await newClient(stack), await newClient(stack)];
    const tag = randomUUID().slice(0, 8);
    const domain = `a-${tag}.example.test`;
    publishPassing(domain); // A's real records: SPF, DKIM at s1, DMARC

    // B gets there first, with a DKIM selector that does not exist, and checks: its own claim fails.
    const squat = await register(b.apiKey, domain, { dkimSelector: 'no-such-selector' });
    expect(squat.verification.status).toBe('pending');
    expect(squat.usable).toBe(false);
    const squatCheck = await inject('POST', `/v1/domains/${squat.id}/check`, b.apiKey);
    expect(json<DomainView>(squatCheck).dns.status).toBe('fail');

    // A registers its domain all the same (its own claim) and proves control.
    const mine = await register(a.apiKey, domain, { dkimSelector: 's1' });
    expect(mine.id).not.toBe(squat.id);
    expect(mine.verification.record.value).not.toBe(squat.verification.record.value);
    const verified = await prove(a.apiKey, mine);
    expect(verified.verification).toMatchObject({ status: 'verified', method: 'dns' });
    expect(verified.usable).toBe(true);

    const address = `ann-${tag}@${domain}`;
    const imported = await importAt(a.apiKey, [address], `squat-${tag}`);
    expect(imported.statusCode).toBe(201);
    const mailboxId = json<{ ids: string[] }>(imported).ids[0]!;
    await eventually(async () => (await liveStatus(address)) === 'active');

    // C claims it after A proved control, and checks too; B checks again. Neither claim is verified.
    const late = await register(c.apiKey, domain, { dkimSelector: 'nope' });
    expect(json<DomainView>(await inject('POST', `/v1/domains/${late.id}/check`, c.apiKey)).dns.status).toBe('fail');
    expect(json<DomainView>(await inject('POST', `/v1/domains/${squat.id}/check`, b.apiKey)).dns.status).toBe('fail');
    // B cannot prove control: its token is not in A's DNS.
    const bVerify = await inject('POST', `/v1/domains/${squat.id}/verify`, b.apiKey);
    expect(bVerify.statusCode).toBe(422);
    expect(json<ErrorBody>(bVerify).error.details.map((d) => d.path)).toEqual(['verification']);

    // The hourly check: A's domain passes, the squatters' claims are not judged against A's mailboxes.
    const run = await runRotation();
    expect(run.domains).toEqual({ checked: 1, failing: 0 });
    expect(await liveStatus(address)).toBe('active');
    const stored = await stack.pool.query('SELECT status FROM mailboxes WHERE id = $1', [mailboxId]);
    expect(stored.rows[0].status).toBe('active');
    expect((await stack.pool.query('SELECT 1 FROM mailbox_rests WHERE mailbox_id = $1', [mailboxId])).rowCount).toBe(0);
    expect((await selectCampaignMailboxes(stack.pool, a.id, { pool: `squat-${tag}` })).map((m) => m.id)).toEqual([mailboxId]);
    const aView = json<DomainView>(await inject('GET', `/v1/domains/${mine.id}`, a.apiKey));
    expect([aView.dns.status, aView.usable, aView.verification.status]).toEqual(['pass', true, 'verified']);

    // A real campaign on A's mailbox sends, and the sink accepts it.
    const auth = a.apiKey;
    const tpl = json<{ id: string }>(await inject('POST', '/v1/templates', auth, { name: 't', subject: 'Hello', text: 'Hi there.\nUnsubscribe: {{unsubscribeUrl}}' }));
    const camp = json<{ id: string }>(await inject('POST', '/v1/campaigns', auth, { name: `c-${tag}`, steps: [{ templateId: tpl.id, delayDays: 0 }], mailboxes: { pool: `squat-${tag}` } }));
    const lead = `lead-${tag}@leads.example.org`;
    expect(json<{ accepted: number }>(await inject('POST', `/v1/campaigns/${camp.id}/leads`, auth, { leads: [{ email: lead }] })).accepted).toBe(1);
    expect((await inject('POST', `/v1/campaigns/${camp.id}/start`, auth)).statusCode).toBe(202);
    await eventually(async () => json<{ status: string }>(await inject('GET', `/v1/campaigns/${camp.id}`, auth)).status === 'completed', 120_000, 250);
    expect(sink.received.filter((m) => m.to[0] === lead).map((m) => m.from)).toEqual([address]);
    const sends = await stack.pool.query('SELECT status, mailbox_id FROM sends WHERE campaign_id = $1', [camp.id]);
    expect(sends.rows).toEqual([{ status: 'sent', mailbox_id: mailboxId }]);
  });

  it('refuses mailboxes at a domain the importer has not verified, naming the field, and writes nothing', async () => {
    const [a, b] = [await newClient(stack), await newClient(stack)];
    const tag = randomUUID().slice(0, 8);
    const mineDomain = `mine-${tag}.example.test`;
    const theirs = `theirs-${tag}.example.test`;
    const agency = `agency-${tag}.example.test`;
    const pendingDomain = `pending-${tag}.example.test`;
    await prove(a.apiKey, await register(a.apiKey, mineDomain));
    await prove(b.apiKey, await register(b.apiKey, theirs));
    await prove(stack.adminKey, await register(stack.adminKey, agency)); // the operator's own: an agency domain
    await register(a.apiKey, pendingDomain); // registered, never proved

    const refused = async (key: string, addresses: string[], path: string) => {
      const before = [await mailboxCount(a.id), await mailboxCount(null)];
      const res = await importAt(key, addresses);
      expect({ addresses, status: res.statusCode }).toEqual({ addresses, status: 422 });
      const body = json<ErrorBody & { created: number }>(res);
      expect(body.error.code).toBe('domain_not_verified');
      expect(body.error.details.map((d) => d.path)).toEqual([path]);
      expect(body.created).toBe(0);
      expect([await mailboxCount(a.id), await mailboxCount(null)]).toEqual(before);
      // Nothing written: not even the good rows' workflows were started.
      for (const address of addresses) {
        await expect(stack.temporal.workflow.getHandle(mailboxWorkflowId(address)).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
      }
    };
    const at = (d: string, n: number) => Array.from({ length: n }, (_, i) => `m${i}-${randomUUID().slice(0, 6)}@${d}`);
    // Three good rows and, fourth, another tenant's domain: the whole batch is refused.
    await refused(a.apiKey, [...at(mineDomain, 3), ...at(theirs, 1)], 'mailboxes.3.address');
    await refused(a.apiKey, [...at(agency, 1), ...at(mineDomain, 1)], 'mailboxes.0.address');
    await refused(a.apiKey, [...at(mineDomain, 1), ...at(pendingDomain, 1)], 'mailboxes.1.address');
    await refused(a.apiKey, at(`nobody-${tag}.example.test`, 1), 'mailboxes.0.address');
    // The operator imports for the agency: a client's domain is not the agency's.
    await refused(stack.adminKey, [...at(agency, 2), ...at(mineDomain, 1)], 'mailboxes.2.address');

    const ok = await importAt(a.apiKey, at(mineDomain, 3));
    expect([ok.statusCode, json<{ created: number }>(ok).created]).toEqual([201, 3]);
    const agencyOk = await importAt(stack.adminKey, at(agency, 2));
    expect([agencyOk.statusCode, json<{ created: number }>(agencyOk).created]).toEqual([201, 2]);
  });

  it('verifies control through a TXT record on the DNS server; the latest proof wins and the former owner stops sending there', async () => {
    const [a, b] = [await newClient(stack), await newClient(stack)];
    const tag = randomUUID().slice(0, 8);
    const domain = `moving-${tag}.example.test`;
    publishPassing(domain);
    const claim = await register(a.apiKey, domain, { dkimSelector: 's1' });
    expect(claim.verification).toMatchObject({
      status: 'pending', method: null, verifiedAt: null,
      record: { type: 'TXT', name: `_outreach.${domain}`, value: expect.stringMatching(/^outreach-verification=[A-Za-z0-9_-]{32,}$/) },
    });
    // A client cannot import before the proof.
    expect((await importAt(a.apiKey, [`early-${tag}@${domain}`])).statusCode).toBe(422);

    // No record, a wrong token, another claim's token: no proof, and the claim stays pending.
    const notYet = async () => {
      const res = await inject('POST', `/v1/domains/${claim.id}/verify`, a.apiKey);
      expect(res.statusCode).toBe(422);
      expect(json<ErrorBody>(res).error).toMatchObject({ code: 'domain_not_verified', details: [{ path: 'verification' }] });
      expect(json<DomainView>(await inject('GET', `/v1/domains/${claim.id}`, a.apiKey)).verification.status).toBe('pending');
    };
    await notYet();
    expect(dns.asked).toContain(`_outreach.${domain}`);
    const other = await register(b.apiKey, domain, { dkimSelector: 's1' });
    zone.set(`_outreach.${domain}`, [['outreach-verification=wrong'], [other.verification.record.value.replace('outreach-verification=', '')], ['google-site-verification=x']]);
    await notYet();

    const verified = await prove(a.apiKey, claim);
    expect(verified.verification).toMatchObject({ status: 'verified', method: 'dns', verifiedAt: expect.any(String) });
    const address = `ann-${tag}@${domain}`;
    const imported = await importAt(a.apiKey, [address], `move-${tag}`);
    expect(imported.statusCode).toBe(201);
    const mailboxId = json<{ ids: string[] }>(imported).ids[0]!;
    await eventually(async () => (await liveStatus(address)) === 'active');
    expect((await importAt(b.apiKey, [`bob-${tag}@${domain}`])).statusCode).toBe(422);

    // The domain moves: B publishes its own token and proves control. A's claim is superseded, with a new
    // token (its old record no longer proves anything), and A's mailbox there rests at once.
    const moved = await prove(b.apiKey, other);
    expect(moved.verification.status).toBe('verified');
    const former = json<DomainView>(await inject('GET', `/v1/domains/${claim.id}`, a.apiKey));
    expect([former.verification.status, former.usable]).toEqual(['superseded', false]);
    expect(former.verification.record.value).not.toBe(claim.verification.record.value);
    expect(await liveStatus(address)).toBe('paused');
    expect((await stack.pool.query('SELECT status FROM mailboxes WHERE id = $1', [mailboxId])).rows[0].status).toBe('paused');
    expect((await selectCampaignMailboxes(stack.pool, a.id, { pool: `move-${tag}` })).map((m) => m.id)).toEqual([]);
    const alerts = await stack.pool.query('SELECT kind, client_id FROM alerts WHERE subject_type = $1 AND subject_id = $2', ['domain', claim.id]);
    expect(alerts.rows).toEqual([{ kind: 'domain_ownership_moved', client_id: a.id }]);
    expect((await importAt(a.apiKey, [`ann2-${tag}@${domain}`])).statusCode).toBe(422);
    expect((await importAt(b.apiKey, [`bob-${tag}@${domain}`])).statusCode).toBe(201);
    // The hourly check keeps it resting; A's stale record does not bring the domain back.
    expect((await runRotation()).returned).toBe(0);
    expect((await inject('POST', `/v1/domains/${claim.id}/verify`, a.apiKey)).statusCode).toBe(422);
    expect(await liveStatus(address)).toBe('paused');

    // A proves again with its new token: the domain is A's once more, and its mailbox returns with the next rotation.
    await prove(a.apiKey, former);
    expect(json<DomainView>(await inject('GET', `/v1/domains/${other.id}`, b.apiKey)).verification.status).toBe('superseded');
    const back = await runRotation();
    expect(back.returned).toBeGreaterThanOrEqual(1);
    expect(await liveStatus(address)).toBe('active');

    const audit = await stack.pool.query<{ domain_id: string; action: string; actor: string }>(
      "SELECT domain_id, action, actor FROM domain_audit WHERE domain = $1 AND action <> 'registered' ORDER BY at, id", [domain]);
    expect(audit.rows).toEqual([
      { domain_id: claim.id, action: 'verified', actor: `client:${a.id}` },
      { domain_id: claim.id, action: 'superseded', actor: `client:${b.id}` },
      { domain_id: other.id, action: 'verified', actor: `client:${b.id}` },
      { domain_id: other.id, action: 'superseded', actor: `client:${a.id}` },
      { domain_id: claim.id, action: 'verified', actor: `client:${a.id}` },
    ]);
  });

  it("rests only the verified owner's mailboxes on a failing DNS check or a domain out of rotation, never another owner's there", async () => {
    const [a, x] = [await newClient(stack), await newClient(stack)];
    const provider = (await stack.pool.query<{ id: string }>('SELECT id FROM provider_accounts ORDER BY created_at LIMIT 1')).rows[0]!.id;
    const tag = randomUUID().slice(0, 8);
    const [failing, delivering] = [`dnsfail-${tag}.example.test`, `lowdel-${tag}.example.test`];
    publishPassing(failing);
    publishPassing(delivering);
    const claims = { failing: await prove(a.apiKey, await register(a.apiKey, failing, { dkimSelector: 's1' })), delivering: await prove(a.apiKey, await register(a.apiKey, delivering, { dkimSelector: 's1' })) };
    const mine = { failing: `a-${tag}@${failing}`, delivering: `a-${tag}@${delivering}` };
    const ids = json<{ ids: string[] }>(await importAt(a.apiKey, [mine.failing, mine.delivering])).ids;
    // Client X's mailboxes at the same names, imported before domains were verified (rows as the old import wrote them).
    const legacy = { failing: `x-${tag}@${failing}`, delivering: `x-${tag}@${delivering}` };
    const { inserted } = await insertMailboxes(stack.pool, [legacy.failing, legacy.delivering].map((address) => ({
      clientId: x.id, address, displayName: null, pool: `legacy-${tag}`, providerIds: [provider], timezone: 'UTC',
      window: DEFAULT_WINDOW, limits: DEFAULT_LIMITS, warmup: null,
    })));
    expect(await startMailboxWorkflows(stack.temporal, stack.config.TEMPORAL_TASK_QUEUE, inserted)).toEqual([]);
    for (const address of [...Object.values(mine), ...Object.values(legacy)]) await eventually(async () => (await liveStatus(address)) === 'active');

    // A's `delivering` domain delivers 94 % (6 of A's 100 sends failed): the controller takes it out of rotation.
    const campaignId = uuidv7();
    await stack.pool.query(`INSERT INTO campaigns (id, client_id, name, status, steps, mailbox_selector) VALUES ($1, $2, 'seed', 'running', '[]', '{}')`, [campaignId, a.id]);
    await stack.pool.query(
      `WITH l AS (INSERT INTO leads (id, client_id, campaign_id, email, status)
                  SELECT gen_random_uuid(), $1, $2, 'seed' || g || '@leads.example.org', 'done' FROM generate_series(1, 100) g RETURNING id, email)
       INSERT INTO sends (id, client_id, campaign_id, lead_id, step, mailbox_id, status, sent_at)
       SELECT gen_random_uuid(), $1, $2, l.id, 0, $3, CASE WHEN n <= 6 THEN 'failed' ELSE 'sent' END, now()
       FROM (SELECT id, row_number() OVER (ORDER BY email) AS n FROM l) l`,
      [a.id, campaignId, ids[1]],
    );
    const controlled = await stack.temporal.workflow.execute(reputationWorkflow, { taskQueue: stack.config.TEMPORAL_TASK_QUEUE, workflowId: `reputation-domown-${randomUUID()}` });
    expect(controlled.decisions).toContainEqual(expect.objectContaining({ kind: 'domain_out', domainId: claims.delivering.id }));
    expect(await liveStatus(mine.delivering)).toBe('paused');
    expect(await liveStatus(legacy.delivering)).toBe('active');

    // A's `failing` domain loses its DMARC record: the hourly check rests A's mailbox there, not X's.
    zone.delete(`_dmarc.${failing}`);
    await runRotation();
    expect(json<DomainView>(await inject('GET', `/v1/domains/${claims.failing.id}`, a.apiKey)).dns.status).toBe('fail');
    expect(await liveStatus(mine.failing)).toBe('paused');
    expect(await liveStatus(legacy.failing)).toBe('active');
    const rested = await stack.pool.query<{ mailbox_id: string }>('SELECT mailbox_id FROM mailbox_rests WHERE mailbox_id = ANY($1::uuid[])', [[...ids, ...inserted.map((m) => m.id)]]);
    expect(rested.rows.map((r) => r.mailbox_id).sort()).toEqual([...ids].sort());
    expect((await selectCampaignMailboxes(stack.pool, x.id, { pool: `legacy-${tag}` })).map((m) => m.id).sort()).toEqual(inserted.map((m) => m.id).sort());
  });

  it('lets the operator override the proof for one domain, and logs the override', async () => {
    const client = await newClient(stack);
    const tag = randomUUID().slice(0, 8);
    const domain = `legacy-${tag}.example.test`; // no record of any kind on the DNS server
    const claim = await register(client.apiKey, domain);

    // Only the operator, with a reason.
    expect((await inject('POST', `/v1/domains/${claim.id}/override`, client.apiKey, { reason: 'mine, trust me' })).statusCode).toBe(404);
    const noReason = await inject('POST', `/v1/domains/${claim.id}/override`, stack.adminKey, {});
    expect(noReason.statusCode).toBe(400);
    expect(json<ErrorBody>(noReason).error.details.map((d) => d.path)).toEqual(['reason']);

    // The override through an app whose log we read.
    const lines: string[] = [];
    const logged = await buildApp(
      { config: stack.config, pool: stack.pool, temporal: stack.temporal, box: new SecretBox(stack.config.CREDENTIALS_KEY!) },
      { logger: createLogger('info', new Writable({ write(chunk: Buffer, _enc, done) { lines.push(chunk.toString()); done(); } })) },
    );
    try {
      const res = await logged.inject({ method: 'POST', url: `/v1/domains/${claim.id}/override`, headers: bearer(stack.adminKey), payload: { reason: 'DNS run by the agency (ticket 42)' } });
      expect(res.statusCode).toBe(200);
      expect(json<DomainView>(res).verification).toMatchObject({ status: 'verified', method: 'operator_override' });
      const again = await logged.inject({ method: 'POST', url: `/v1/domains/${claim.id}/override`, headers: bearer(stack.adminKey), payload: { reason: 'twice' } });
      expect(again.statusCode).toBe(409);
    } finally {
      await logged.close();
    }
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(entries).toContainEqual(expect.objectContaining({
      level: 40, msg: 'sending domain verified by operator override', domainId: claim.id, clientId: client.id, reason: 'DNS run by the agency (ticket 42)',
    }));
    const all = lines.join('');
    for (const secret of [stack.adminKey, client.apiKey, claim.verification.record.value.split('=')[1]!]) expect(all).not.toContain(secret);

    const audit = await stack.pool.query<{ action: string; actor: string; client_id: string; detail: Record<string, unknown> }>(
      "SELECT action, actor, client_id, detail FROM domain_audit WHERE domain_id = $1 AND action <> 'registered'", [claim.id]);
    expect(audit.rows).toEqual([{ action: 'override', actor: 'operator', client_id: client.id, detail: { reason: 'DNS run by the agency (ticket 42)', previous: null } }]);

    const imported = await importAt(client.apiKey, [`ann-${tag}@${domain}`]);
    expect(imported.statusCode).toBe(201);
  });
});
