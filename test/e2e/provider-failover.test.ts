import { SendgridFake } from '../fakes/sendgrid-fake';
import { SesFake } from '../fakes/ses-fake';
import { campaignWithLeads, deliveriesPerAddress, newProvider } from '../helpers/campaign-fixture';
import { eventually, newClient, startStack, type Stack } from '../helpers/stack';

describe('provider failover inside a running campaign (real SDK clients against the fakes)', () => {
  let stack: Stack;
  const ses = new SesFake();
  const sendgrid = new SendgridFake();

  beforeAll(async () => {
    const sesUrl = await ses.start();
    const sgUrl = await sendgrid.start();
    stack = await startStack({ worker: true, env: { PROVIDER_BREAKER_OPEN_SECONDS: '2' } });
    (stack as Stack & { urls: string[] }).urls = [sesUrl, sgUrl];
  });
  afterAll(async () => {
    await stack?.close();
    await ses.stop();
    await sendgrid.stop();
  });

  it('SES outage mid-campaign: SendGrid takes over within 5 s, the switch is logged, traffic returns to SES, every lead accepted exactly once', async () => {
    const [sesUrl, sgUrl] = (stack as Stack & { urls: string[] }).urls;
    const sesAcct = await newProvider(stack, 'ses', { region: 'eu-west-1', accessKeyId: 'AKID', secretAccessKey: 'secret', endpoint: sesUrl });
    const sgAcct = await newProvider(stack, 'sendgrid', { apiKey: 'SG.key', endpoint: sgUrl });
    const client = await newClient(stack);
    const c = await campaignWithLeads(stack, client, { providers: [sesAcct.name, sgAcct.name], mailboxes: 10, leads: 500 });
    await c.start();

    await eventually(async () => ses.accepted >= 100, 60_000, 20);
    await ses.outage({ keepConnections: true }); // 20 sends in flight: no idle-close race
    const outageAt = Date.now();
    const sgAtOutage = sendgrid.accepted;
    await eventually(async () => sendgrid.accepted > sgAtOutage, 10_000, 20);
    expect(Date.now() - outageAt).toBeLessThan(5_000);

    await eventually(async () => sendgrid.accepted >= sgAtOutage + 100, 60_000, 20);
    await ses.recover();
    const sesAtRecovery = ses.accepted;
    await c.waitDone();

    expect(ses.accepted).toBeGreaterThan(sesAtRecovery); // traffic came back to the primary
    const counts = deliveriesPerAddress(ses.messages, sendgrid.messages);
    // Every lead exactly once; on failure, show each odd lead's send row.
    const odd = c.emails.filter((e) => (counts.get(e) ?? 0) !== 1);
    const detail = await stack.pool.query<{ email: string; status: string | null; last_error: string | null }>(
      'SELECT l.email, s.status, s.last_error FROM leads l LEFT JOIN sends s ON s.lead_id = l.id WHERE l.email = ANY($1)',
      [odd],
    );
    expect(detail.rows.map((r) => ({ ...r, deliveries: counts.get(r.email) ?? 0 }))).toEqual([]);
    expect(c.emails).toHaveLength(500);

    const { rows } = await stack.pool.query(
      'SELECT from_state, to_state FROM provider_switches WHERE provider_account_id = $1 ORDER BY at, id',
      [sesAcct.id],
    );
    // Opened once; probes during the outage failed and re-opened it; the first probe after recovery closed it.
    expect(rows.map((r) => `${r.from_state}->${r.to_state}`).join(',')).toMatch(
      /^closed->open(,open->half_open,half_open->open)*,open->half_open,half_open->closed$/,
    );
    const sent = await stack.pool.query<{ provider: string; n: number }>(
      `SELECT p.kind AS provider, count(*)::int AS n FROM sends s JOIN provider_accounts p ON p.id = s.provider_account_id
       WHERE s.campaign_id = $1 AND s.status = 'sent' GROUP BY p.kind ORDER BY p.kind`,
      [c.campaignId],
    );
    expect(sent.rows.reduce((a, r) => a + r.n, 0)).toBe(500);
    expect(sent.rows.map((r) => r.provider)).toEqual(['sendgrid', 'ses']);
  }, 180_000);
});
