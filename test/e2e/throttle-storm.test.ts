import { SendgridFake } from '../fakes/sendgrid-fake';
import { campaignWithLeads, deliveriesPerAddress, newProvider } from '../helpers/campaign-fixture';
import { eventually, newClient, startStack, type Stack } from '../helpers/stack';

describe('429 storm at SendGrid', () => {
  let stack: Stack;
  const sendgrid = new SendgridFake();

  beforeAll(async () => {
    await sendgrid.start();
    stack = await startStack({ worker: true });
  });
  afterAll(async () => {
    await stack?.close();
    await sendgrid.stop();
  });

  it('honours the reset header (no hot loop: a bounded number of requests) and still sends every lead once', async () => {
    const sg = await newProvider(stack, 'sendgrid', { apiKey: 'SG.k', endpoint: `http://127.0.0.1:${sendgrid.port}` });
    const client = await newClient(stack);
    const mailboxes = 5;
    const c = await campaignWithLeads(stack, client, { providers: [sg.name], mailboxes, leads: 60 });
    await c.start();
    await eventually(async () => sendgrid.accepted >= 10, 30_000, 10);

    // A storm: every request is refused for 3 s, each 429 saying the limit resets 2 s from now.
    const stormSeconds = 3;
    const attemptsBefore = sendgrid.attempts;
    const acceptedBefore = sendgrid.accepted;
    const stormStart = Date.now();
    sendgrid.throttle({ status: 429, resetEpochSeconds: Math.ceil(Date.now() / 1000) + 2 });
    await new Promise((r) => setTimeout(r, stormSeconds * 1000));
    await sendgrid.recover();
    const refused = sendgrid.attempts - attemptsBefore - (sendgrid.accepted - acceptedBefore);
    // Each mailbox cools down until the reset after a 429: at most ~one refused request per mailbox
    // per reset window, not a retry loop (which would be hundreds in 3 s).
    expect(refused).toBeGreaterThanOrEqual(1);
    expect(refused).toBeLessThanOrEqual(mailboxes * (stormSeconds + 1));
    expect(Date.now() - stormStart).toBeLessThan(10_000);

    await c.waitDone();
    const counts = deliveriesPerAddress(sendgrid.messages);
    expect(c.emails.filter((e) => counts.get(e) === 1)).toHaveLength(60);
    const { rows } = await stack.pool.query("SELECT count(*)::int AS n FROM sends WHERE campaign_id = $1 AND status = 'sent'", [c.campaignId]);
    expect(rows[0].n).toBe(60);
  }, 120_000);
});
