import { SendgridFake } from '../fakes/sendgrid-fake';
import { SesFake } from '../fakes/ses-fake';
import { campaignWithLeads, deliveriesPerAddress, FAST_LIMITS, newProvider } from '../helpers/campaign-fixture';
import { eventually, newClient, startStack, type Stack } from '../helpers/stack';

const PACING_MS = 2_000;
const MAILBOXES = 4;
const LEADS = 48;

/** The largest gap between consecutive times (ms), with where it started. */
function largestGap(times: number[]): { gapMs: number; at: number } {
  let best = { gapMs: 0, at: times[0] ?? 0 };
  for (let i = 1; i < times.length; i++) {
    const gap = times[i]! - times[i - 1]!;
    if (gap > best.gapMs) best = { gapMs: gap, at: times[i - 1]! };
  }
  return best;
}

describe('failover within the attempt (real SDK clients against the fakes, dev server, PostgreSQL)', () => {
  let stack: Stack;
  const ses = new SesFake();
  const sendgrid = new SendgridFake();
  let urls: { ses: string; sendgrid: string };

  beforeAll(async () => {
    urls = { ses: await ses.start(), sendgrid: await sendgrid.start() };
    // A short open period, so probes happen (and fail) while the campaign runs.
    stack = await startStack({ worker: true, env: { PROVIDER_BREAKER_OPEN_SECONDS: '3', PROVIDER_BREAKER_MIN_ATTEMPTS: '8' } });
  });
  afterAll(async () => {
    await stack?.close();
    await ses.stop();
    await sendgrid.stop();
  });

  it('SES answering 503 from the start: SendGrid sends within 5 s, one attempt per send, failed probes hold no send, traffic returns after recovery', async () => {
    ses.fail(503); // until recover()
    const sesAcct = await newProvider(stack, 'ses', { region: 'eu-west-1', accessKeyId: 'AKID', secretAccessKey: 'secret', endpoint: urls.ses });
    const sgAcct = await newProvider(stack, 'sendgrid', { apiKey: 'SG.key', endpoint: urls.sendgrid });
    const client = await newClient(stack);
    const c = await campaignWithLeads(stack, client, {
      providers: [sesAcct.name, sgAcct.name],
      mailboxes: MAILBOXES,
      leads: LEADS,
      mailboxOverrides: { limits: { ...FAST_LIMITS, minIntervalSeconds: PACING_MS / 1000 } },
    });
    const startedAt = Date.now();
    await c.start();

    await eventually(async () => sendgrid.accepted > 0, 10_000, 20);
    const firstSendMs = Date.now() - startedAt;
    expect(firstSendMs).toBeLessThan(5_000);

    // Let at least two probes fail while SES still answers 503, then recover it.
    const failedProbes = async () =>
      (await stack.pool.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM provider_switches WHERE provider_account_id = $1 AND from_state = 'half_open' AND to_state = 'open'",
        [sesAcct.id],
      )).rows[0]!.n;
    await eventually(async () => (await failedProbes()) >= 2, 30_000, 50);
    const recoveredAt = Date.now();
    await ses.recover();
    await c.waitDone(60_000);

    // Every lead accepted exactly once across the fakes.
    const counts = deliveriesPerAddress(ses.messages, sendgrid.messages);
    expect(c.emails.filter((e) => (counts.get(e) ?? 0) !== 1)).toEqual([]);
    expect(ses.accepted + sendgrid.accepted).toBe(LEADS);
    expect(ses.accepted).toBeGreaterThan(0); // traffic came back to the primary after its probe succeeded

    const sends = (await stack.pool.query<{ attempts: number; mailbox_id: string; kind: string; sent: Date; slot: Date }>(
      `SELECT s.attempts, s.mailbox_id, p.kind, s.sent_at AS sent, s.slot_at AS slot
       FROM sends s JOIN provider_accounts p ON p.id = s.provider_account_id
       WHERE s.campaign_id = $1 AND s.status = 'sent' ORDER BY s.sent_at`,
      [c.campaignId],
    )).rows;
    expect(sends).toHaveLength(LEADS);
    // No send took more than 2 attempts: each went out in its first activity attempt,
    // and no lead cost more than two provider calls (SES's 503, then SendGrid).
    expect(Math.max(...sends.map((s) => s.attempts))).toBeLessThanOrEqual(2);
    expect(sends.filter((s) => s.attempts > 1)).toEqual([]);
    expect(ses.attempts + sendgrid.attempts).toBeLessThanOrEqual(2 * LEADS);

    // No send was held after its slot (a probe, failed or not, included).
    const lateness = sends.map((s) => s.sent.getTime() - s.slot.getTime());
    const worstLateMs = Math.max(...lateness);

    // Around each failed probe, SendGrid kept the pace: per mailbox, consecutive deliveries stay near the pacing.
    const switches = (await stack.pool.query<{ from_state: string; to_state: string; at: Date }>(
      'SELECT from_state, to_state, at FROM provider_switches WHERE provider_account_id = $1 ORDER BY at, id',
      [sesAcct.id],
    )).rows;
    const probesFailedAt = switches.filter((s) => s.from_state === 'half_open' && s.to_state === 'open').map((s) => s.at.getTime());
    const byMailbox = new Map<string, number[]>();
    for (const s of sends.filter((x) => x.kind === 'sendgrid')) byMailbox.set(s.mailbox_id, [...(byMailbox.get(s.mailbox_id) ?? []), s.sent.getTime()]);
    const gapsAroundProbes = probesFailedAt.map((t) =>
      Math.max(...[...byMailbox.values()].map((times) => largestGap(times.filter((x) => Math.abs(x - t) <= 2 * PACING_MS)).gapMs)),
    );
    const worstGap = Math.max(...[...byMailbox.values()].map((times) => largestGap(times.filter((x) => x < recoveredAt)).gapMs));
    process.stderr.write(
      `[provider-failover-attempt] first SendGrid send ${firstSendMs} ms after start; failed probes ${probesFailedAt.length}; ` +
        `largest per-mailbox gap around them ${gapsAroundProbes.join(', ')} ms (pacing ${PACING_MS} ms); ` +
        `largest per-mailbox gap before recovery ${worstGap} ms; worst send after its slot ${worstLateMs} ms\n`,
    );
    // Bounds: the pacing plus scheduling slack on a loaded 2-core machine (a lane's next batch costs
    // a reservation round trip), and below the 5 s any Temporal retry of a send would cost.
    expect(probesFailedAt.length).toBeGreaterThanOrEqual(2);
    for (const gap of gapsAroundProbes) expect(gap).toBeLessThan(PACING_MS + 2_000);
    expect(worstGap).toBeLessThan(PACING_MS + 2_000);
    expect(worstLateMs).toBeLessThan(2_000);

    // Every switch logged: opened on the rate, probes failed and re-opened it, the probe after recovery closed it.
    expect(switches.map((r) => `${r.from_state}->${r.to_state}`).join(',')).toMatch(
      /^closed->open(,open->half_open,half_open->open){2,},open->half_open,half_open->closed$/,
    );
  }, 90_000);
});
