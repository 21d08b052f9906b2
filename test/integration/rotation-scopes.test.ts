import { randomUUID } from 'node:crypto';
import { localDateTime } from '../../workflows/policy/time-zone';
import { rotationWorkflow } from '../../workflows';
import { passingRecords } from '../fakes/dns-server';
import { SesFake } from '../fakes/ses-fake';
import { campaignWithLeads, newProvider } from '../helpers/campaign-fixture';
import { createTestDatabase } from '../helpers/databases';
import { bearer, json, startStack, type Stack } from '../helpers/stack';
import { testEnv } from '../helpers/test-env';

/** Fixed-offset zones from UTC+14 to UTC-12 (Etc/GMT-14 … Etc/GMT+12: the sign is POSIX's, reversed). */
const ZONES = Array.from({ length: 27 }, (_, i) => 14 - i).map((h) => (h === 0 ? 'Etc/GMT' : `Etc/GMT${h > 0 ? '-' : '+'}${Math.abs(h)}`));
/** A zone whose local hour now is in [from, to]: 27 offsets cover every hour of the day. */
const zoneAt = (from: number, to: number) => ZONES.find((z) => { const h = localDateTime(Date.now(), z).hour; return h >= from && h <= to; })!;

/**
 * The daily rotation per client time zone (the schedule fires hourly; each
 * client rotates at ROTATION_HOUR in its own zone, once a local day): a
 * client whose hour has come gets its mailboxes' provider order and its
 * domains' SES configuration sets (dedicated IP pools) rotated, a client
 * still before its hour does not, and SES sends carry the domain's set of
 * the day. Own database: the rotation looks at every client.
 */
describe('daily rotation per client time zone: provider order and SES configuration sets', () => {
  let stack: Stack;
  let db: { url: string; drop(): Promise<void> };
  const ses = new SesFake();
  let sesUrl = '';
  const zone = new Map<string, string[][]>();
  // Well away from the hour's edges, so the hour cannot turn during the test.
  const dueZone = zoneAt(14, 22);
  const laterZone = zoneAt(2, 10);

  beforeAll(async () => {
    sesUrl = await ses.start();
    db = await createTestDatabase(testEnv('adminDatabaseUrl'), 'outreach_rotation');
    stack = await startStack({
      worker: true,
      env: { DATABASE_URL: db.url, ROTATION_HOUR: '12', ROTATION_TIMEZONE: laterZone },
      dnsZone: zone,
    });
  });
  afterAll(async () => {
    await stack?.close();
    await db?.drop();
    await ses.stop();
  });

  const run = (force = false) =>
    stack.temporal.workflow.execute(rotationWorkflow, { taskQueue: stack.config.TEMPORAL_TASK_QUEUE, workflowId: `rotation-scopes-${randomUUID()}`, args: [{ force }] });

  async function clientIn(timezone: string) {
    const res = await stack.app.inject({ method: 'POST', url: '/v1/clients', headers: bearer(stack.adminKey), payload: { name: `c-${timezone}`, timezone } });
    expect(res.statusCode).toBe(201);
    return json<{ id: string; apiKey: string }>(res);
  }

  /** A client in `timezone` with a domain rotating through three SES configuration sets and one mailbox there on two SES accounts. */
  async function setUp(timezone: string) {
    const client = await clientIn(timezone);
    const domain = `d${randomUUID().slice(0, 8)}.example.com`;
    for (const [name, records] of passingRecords(domain)) zone.set(name, records);
    // The operator sets a client's domain's IP pools (the SES configuration sets are the agency's).
    const created = await stack.app.inject({
      method: 'POST', url: '/v1/domains', headers: bearer(stack.adminKey),
      payload: { domain, dkimSelector: 's1', configurationSets: ['pool-a', 'pool-b', 'pool-c'], clientId: client.id },
    });
    expect([created.statusCode, json<{ configurationSet: string }>(created).configurationSet]).toEqual([201, 'pool-a']);
    const config = { region: 'us-east-1', accessKeyId: 'AKID', secretAccessKey: 'secret', endpoint: sesUrl };
    const [p1, p2] = [await newProvider(stack, 'ses', config), await newProvider(stack, 'ses', config)];
    const campaign = await campaignWithLeads(stack, client, { providers: [p1!.name, p2!.name], mailboxes: 1, leads: 2, mailboxOverrides: { address: `anna@${domain}` } });
    return { client, domain, domainId: json<{ id: string }>(created).id, campaign, providers: [p1!.id, p2!.id] };
  }

  const stateOf = async (domainId: string, mailboxId: string) => ({
    set: (await stack.pool.query('SELECT configuration_set FROM sending_domains WHERE id = $1', [domainId])).rows[0].configuration_set as string,
    providers: (await stack.pool.query('SELECT provider_ids FROM mailboxes WHERE id = $1', [mailboxId])).rows[0].provider_ids as string[],
  });

  it('rotates the client whose hour has come, once a local day, and leaves the one still before its hour', async () => {
    const due = await setUp(dueZone);
    const later = await setUp(laterZone);
    const today = (z: string) => { const d = localDateTime(Date.now(), z); return `${d.year}-${String(d.month).padStart(2, '0')}-${String(d.day).padStart(2, '0')}`; };

    const first = await run();
    expect(first.scopes).toEqual([{ scope: due.client.id, localDate: today(dueZone) }]); // the agency (laterZone) is not due either
    expect(first.configurationSets).toBe(1);
    expect(first.domains).toEqual({ checked: 2, failing: 0 });
    expect(await stateOf(due.domainId, due.campaign.mailboxIds[0]!)).toEqual({ set: 'pool-b', providers: [due.providers[1], due.providers[0]] });
    expect(await stateOf(later.domainId, later.campaign.mailboxIds[0]!)).toEqual({ set: 'pool-a', providers: later.providers });
    const log = await stack.pool.query<{ action: string; subject_id: string; detail: Record<string, unknown> }>(
      'SELECT action, subject_id, detail FROM rotation_log WHERE run_id = $1 AND action <> $2 ORDER BY action', [first.runId, 'domain_checked']);
    expect(log.rows).toEqual([
      { action: 'configuration_set_rotated', subject_id: due.domainId, detail: { from: 'pool-a', to: 'pool-b', localDate: today(dueZone) } },
      { action: 'providers_rotated', subject_id: `${due.client.id}/${(await stack.pool.query('SELECT pool FROM mailboxes WHERE id = $1', [due.campaign.mailboxIds[0]])).rows[0].pool}`, detail: { mailboxes: 1, localDate: today(dueZone) } },
    ]);

    // The next hourly run the same day: nothing more to rotate.
    const second = await run();
    expect([second.scopes, second.configurationSets, second.providers]).toEqual([[], 0, { pools: 0, mailboxes: 0 }]);
    expect(await stateOf(due.domainId, due.campaign.mailboxIds[0]!)).toEqual({ set: 'pool-b', providers: [due.providers[1], due.providers[0]] });

    // "Rotate now": the clients not yet rotated today (the later one, and the agency), whatever their hour; not the due one again.
    const forced = await run(true);
    expect(forced.scopes.map((s) => s.scope).sort()).toEqual(['agency', later.client.id].sort());
    expect(await stateOf(later.domainId, later.campaign.mailboxIds[0]!)).toEqual({ set: 'pool-b', providers: [later.providers[1], later.providers[0]] });
    expect(await stateOf(due.domainId, due.campaign.mailboxIds[0]!)).toEqual({ set: 'pool-b', providers: [due.providers[1], due.providers[0]] });

    // SES sends go out on the domain's configuration set of the day, through the rotated primary account.
    await due.campaign.start();
    await due.campaign.waitDone();
    const sent = ses.messages.filter((m) => m.from.includes(due.domain));
    expect(sent.map((m) => m.configurationSet)).toEqual(['pool-b', 'pool-b']);
  });

  it('refuses bad configuration sets naming the field, and a client key choosing one at all; nothing is written', async () => {
    const client = await clientIn('UTC');
    const domains = async () => Number((await stack.pool.query('SELECT count(*) AS n FROM sending_domains')).rows[0].n);
    const before = await domains();
    const post = (headers: Record<string, string>, payload: Record<string, unknown>) =>
      stack.app.inject({ method: 'POST', url: '/v1/domains', headers, payload: { domain: `x${randomUUID().slice(0, 8)}.example.com`, ...payload } });
    // Bad input is a 400; a field only the operator may set, sent with a client key, a 403 (a matter of the key): both name it.
    const cases: [Record<string, string>, Record<string, unknown>, string, number][] = [
      [bearer(stack.adminKey), { configurationSet: 'pool-z', configurationSets: ['pool-a', 'pool-b'] }, 'configurationSet', 400],
      [bearer(stack.adminKey), { configurationSets: ['pool-a', 'pool-a'] }, 'configurationSets', 400],
      [bearer(stack.adminKey), { configurationSets: ['pool a'] }, 'configurationSets', 400],
      [bearer(client.apiKey), { configurationSets: ['pool-a'] }, 'configurationSets', 403],
      [bearer(client.apiKey), { configurationSet: 'pool-a' }, 'configurationSet', 403],
    ];
    for (const [headers, payload, field, status] of cases) {
      const res = await post(headers, payload);
      expect({ field, status: res.statusCode }).toEqual({ field, status });
      expect(json<{ error: { details?: { path: string }[] } }>(res).error.details!.map((d) => d.path.split('.')[0])).toContain(field);
    }
    expect(await domains()).toBe(before);
  });
});
