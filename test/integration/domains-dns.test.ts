import { randomUUID } from 'node:crypto';
import { selectCampaignMailboxes } from '../../db/repositories/mailboxes';
import { mailboxWorkflowId } from '../../workflows/ids';
import { stateQuery } from '../../workflows/mailbox.workflow';
import { rotationWorkflow } from '../../workflows';
import { createTestDatabase } from '../helpers/databases';
import { bearer, eventually, json, newClient, newSmtpProvider, startStack, type Stack } from '../helpers/stack';
import { testEnv } from '../helpers/test-env';
import { injectApi, verifyDomains } from '../helpers/verified-domains';

const KEY = 'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAz8pTq3Hb4Jx0JvKfT3yD5f0q2lYt+u8w1KjQ9H7Nn3mQIDAQAB';

/** The zone the local DNS server answers from: name → TXT records (each one or more strings). Names absent → NXDOMAIN. */
const zone = new Map<string, string[][]>([
  ['good.example.test', [['v=spf1 ip4:192.0.2.0/24 include:_spf.example.test -all'], ['site-verification=abc']]],
  ['s1._domainkey.good.example.test', [[`v=DKIM1; k=rsa; p=${KEY.slice(0, 40)}`, KEY.slice(40)]]],
  ['_dmarc.good.example.test', [['v=DMARC1; p=reject; rua=mailto:dmarc@good.example.test']]],

  ['malformed.example.test', [['v=spf1 include:_spf.example.test']]], // no all mechanism
  ['s1._domainkey.malformed.example.test', [['v=DKIM1; k=rsa']]], // no p=
  ['_dmarc.malformed.example.test', [['v=DMARC1; rua=mailto:dmarc@malformed.example.test']]], // no p=

  ['mixed.example.test', [['v=spf1 -all']]],
  ['s1._domainkey.mixed.example.test', []], // the name exists, no TXT
  ['_dmarc.mixed.example.test', [['v=DMARC1; p=block']]],
]);

describe('domain checks: SPF, DKIM and DMARC against a local DNS server (dns2), GET /v1/domains', () => {
  let stack: Stack;
  let db: { url: string; drop(): Promise<void> };
  let asked: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase(testEnv('adminDatabaseUrl'), 'outreach_domains');
    stack = await startStack({ worker: true, env: { DATABASE_URL: db.url }, dnsZone: zone });
    asked = stack.dns!.asked;
  });
  afterAll(async () => {
    await stack?.close();
    await db?.drop();
  });

  interface DomainView {
    id: string;
    domain: string;
    usable: boolean;
    dns: { status: string; spf: { verdict: string; detail?: string } | null; dkim: { verdict: string; detail?: string } | null; dmarc: { verdict: string; detail?: string } | null };
  }
  const verdicts = (d: DomainView) => [d.dns.status, d.dns.spf?.verdict, d.dns.dkim?.verdict, d.dns.dmarc?.verdict];

  let client: { id: string; apiKey: string };
  const ids: Record<string, string> = {};

  it('registers domains and checks each on demand: right verdict per record, and overall', async () => {
    client = await newClient(stack);
    for (const name of ['good', 'missing', 'malformed', 'mixed']) {
      const res = await stack.app.inject({
        method: 'POST', url: '/v1/domains', headers: bearer(client.apiKey),
        payload: { domain: `${name}.example.test`, dkimSelector: 's1' },
      });
      expect(res.statusCode).toBe(201);
      const d = json<DomainView>(res);
      expect(verdicts(d)).toEqual(['unchecked', undefined, undefined, undefined]);
      expect(d.usable).toBe(false); // not before its owner proves control (test/security/domain-ownership.test.ts)
      ids[name] = d.id;
    }
    // The client proves control of each (its TXT record on the DNS server): verified and unchecked is usable.
    await verifyDomains(injectApi(stack.app), zone, client.apiKey, Object.keys(ids).map((n) => `${n}.example.test`), { passingRecords: false });
    expect(json<DomainView>(await stack.app.inject({ method: 'GET', url: `/v1/domains/${ids.missing}`, headers: bearer(client.apiKey) })).usable).toBe(true);
    const check = async (name: string) => {
      const res = await stack.app.inject({ method: 'POST', url: `/v1/domains/${ids[name]}/check`, headers: bearer(client.apiKey) });
      expect(res.statusCode).toBe(200);
      return json<DomainView>(res);
    };
    const good = await check('good');
    expect(verdicts(good)).toEqual(['pass', 'pass', 'pass', 'pass']);
    expect(good.usable).toBe(true);
    expect(asked).toEqual(expect.arrayContaining(['good.example.test', 's1._domainkey.good.example.test', '_dmarc.good.example.test']));

    const missing = await check('missing');
    expect(verdicts(missing)).toEqual(['fail', 'missing', 'missing', 'missing']);
    expect(missing.usable).toBe(false);

    const malformed = await check('malformed');
    expect(verdicts(malformed)).toEqual(['fail', 'malformed', 'malformed', 'malformed']);
    expect(malformed.dns.spf?.detail).toMatch(/no all mechanism/);
    expect(malformed.dns.dkim?.detail).toMatch(/no p= tag/);
    expect(malformed.dns.dmarc?.detail).toMatch(/no p= tag/);

    const mixed = await check('mixed');
    expect(verdicts(mixed)).toEqual(['fail', 'pass', 'missing', 'malformed']);
  });

  it('lists a client its own domains with the verdict; another client sees none of them, the operator sees all', async () => {
    const mine = await stack.app.inject({ method: 'GET', url: '/v1/domains?limit=2', headers: bearer(client.apiKey) });
    expect(mine.statusCode).toBe(200);
    const page1 = json<{ items: DomainView[]; nextCursor: string | null }>(mine);
    expect(page1.items).toHaveLength(2);
    const rest = await stack.app.inject({ method: 'GET', url: `/v1/domains?cursor=${page1.nextCursor}`, headers: bearer(client.apiKey) });
    const all = [...page1.items, ...json<{ items: DomainView[] }>(rest).items];
    expect(Object.fromEntries(all.map((d) => [d.domain, d.dns.status]))).toEqual({
      'good.example.test': 'pass', 'missing.example.test': 'fail', 'malformed.example.test': 'fail', 'mixed.example.test': 'fail',
    });

    const other = await newClient(stack);
    const theirs = await stack.app.inject({ method: 'GET', url: '/v1/domains', headers: bearer(other.apiKey) });
    expect(json<{ items: DomainView[] }>(theirs).items).toEqual([]);
    const foreign = await stack.app.inject({ method: 'POST', url: `/v1/domains/${ids.good}/check`, headers: bearer(other.apiKey) });
    expect(foreign.statusCode).toBe(404);

    const operator = await stack.app.inject({ method: 'GET', url: '/v1/domains', headers: bearer(stack.adminKey) });
    expect(json<{ items: DomainView[] }>(operator).items.map((d) => d.id)).toEqual(expect.arrayContaining(Object.values(ids)));
  });

  it('answers bad input with a 4xx naming the field', async () => {
    const bad = await stack.app.inject({ method: 'POST', url: '/v1/domains', headers: bearer(client.apiKey), payload: { domain: 'not a domain', dkimSelector: 's1' } });
    expect(bad.statusCode).toBe(400);
    expect(json<{ error: { details: { path: string }[] } }>(bad).error.details.map((d) => d.path)).toContain('domain');
    const dup = await stack.app.inject({ method: 'POST', url: '/v1/domains', headers: bearer(client.apiKey), payload: { domain: 'GOOD.example.test' } });
    expect(dup.statusCode).toBe(409);
    const notMine = await stack.app.inject({ method: 'POST', url: '/v1/domains', headers: bearer(client.apiKey), payload: { domain: 'x.example.test', clientId: randomUUID() } });
    expect(notMine.statusCode).toBe(403) // a field only the operator may set: a matter of the key, and still named;
    expect(json<{ error: { details: { path: string }[] } }>(notMine).error.details.map((d) => d.path)).toEqual(['clientId']);
  });

  it('the daily rotation checks every domain, rests the mailboxes of a failing one (not used for sending) and returns them once it passes', async () => {
    const p = await newSmtpProvider(stack, 2530);
    const goodBox = `g-${randomUUID().slice(0, 8)}@good.example.test`;
    const badBox = `b-${randomUUID().slice(0, 8)}@malformed.example.test`;
    const res = await stack.app.inject({
      method: 'POST', url: '/v1/mailboxes', headers: bearer(client.apiKey),
      payload: { mailboxes: [{ address: goodBox, providers: [p.name], pool: 'dns' }, { address: badBox, providers: [p.name], pool: 'dns' }] },
    });
    expect(res.statusCode).toBe(201);
    const [goodId, badId] = json<{ ids: string[] }>(res).ids;
    const live = (address: string) => stack.temporal.workflow.getHandle(mailboxWorkflowId(address)).query(stateQuery, Date.now()).then((s) => s.status);
    await eventually(async () => (await live(badBox)) === 'active');
    // Already failing its on-demand check: new campaigns skip it.
    expect((await selectCampaignMailboxes(stack.pool, client.id, { pool: 'dns' })).map((m) => m.id)).toEqual([goodId]);

    const run = () => stack.temporal.workflow.execute(rotationWorkflow, { taskQueue: stack.config.TEMPORAL_TASK_QUEUE, workflowId: `rotation-dns-${randomUUID()}`, args: [{ force: true }] });
    const first = await run();
    expect(first.domains).toEqual({ checked: 4, failing: 3 });
    const log = await stack.pool.query<{ subject_id: string; detail: { overall: string; spf: string; dkim: string; dmarc: string } }>(
      "SELECT subject_id, detail FROM rotation_log WHERE run_id = $1 AND action = 'domain_checked'",
      [first.runId],
    );
    expect(Object.fromEntries(log.rows.map((r) => [r.subject_id, r.detail]))).toEqual({
      [ids.good!]: { overall: 'pass', spf: 'pass', dkim: 'pass', dmarc: 'pass' },
      [ids.missing!]: { overall: 'fail', spf: 'missing', dkim: 'missing', dmarc: 'missing' },
      [ids.malformed!]: { overall: 'fail', spf: 'malformed', dkim: 'malformed', dmarc: 'malformed' },
      [ids.mixed!]: { overall: 'fail', spf: 'pass', dkim: 'missing', dmarc: 'malformed' },
    });
    expect(await live(badBox)).toBe('paused');
    expect(await live(goodBox)).toBe('active');

    // The operator fixes the records: the next rotation passes the domain and returns its mailbox.
    zone.set('malformed.example.test', [['v=spf1 include:_spf.example.test ~all']]);
    zone.set('s1._domainkey.malformed.example.test', [[`v=DKIM1; p=${KEY}`]]);
    zone.set('_dmarc.malformed.example.test', [['v=DMARC1; p=quarantine']]);
    const second = await run();
    expect(second.domains).toEqual({ checked: 4, failing: 2 });
    expect(second.returned).toBe(1);
    expect(await live(badBox)).toBe('active');
    expect((await selectCampaignMailboxes(stack.pool, client.id, { pool: 'dns' })).map((m) => m.id).sort()).toEqual([goodId, badId].sort());
  });
});
