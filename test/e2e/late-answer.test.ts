import { SendgridFake } from '../fakes/sendgrid-fake';
import { campaignWithLeads, deliveriesPerAddress, newProvider } from '../helpers/campaign-fixture';
import { eventually, newClient, startStack, type Stack } from '../helpers/stack';

describe('a provider that accepts a message but answers too late', () => {
  let stack: Stack;
  const slow = new SendgridFake();

  beforeAll(async () => {
    await slow.start();
    stack = await startStack({ worker: true });
  });
  afterAll(async () => {
    await stack?.close();
    await slow.stop();
  });

  it('marks the send unknown and never sends that lead twice', async () => {
    // Answers 2.5 s after taking each message; the account gives up after 1 s.
    const sg = await newProvider(stack, 'sendgrid', { apiKey: 'SG.k', endpoint: `http://127.0.0.1:${slow.port}`, requestTimeoutMs: 1000 });
    slow.latency(2500);
    const client = await newClient(stack);
    const c = await campaignWithLeads(stack, client, { providers: [sg.name], mailboxes: 2, leads: 4 });
    await c.start();
    await c.waitDone(60_000);
    await eventually(async () => slow.messages.length >= 4, 10_000); // the slow fake records them as it answers
    // Give any (wrong) retry time to show up before counting.
    await new Promise((r) => setTimeout(r, 3000));
    const counts = deliveriesPerAddress(slow.messages);
    for (const e of c.emails) expect({ e, n: counts.get(e) ?? 0 }).toEqual({ e, n: 1 });
    const { rows } = await stack.pool.query<{ status: string; n: number }>(
      'SELECT status, count(*)::int AS n FROM sends WHERE campaign_id = $1 GROUP BY status',
      [c.campaignId],
    );
    expect(rows).toEqual([{ status: 'unknown', n: 4 }]);
  }, 120_000);
});

describe('the same late provider with SEND_DELIVERY_GUARANTEE=at-least-once', () => {
  let stack: Stack;
  const slow = new SendgridFake();

  beforeAll(async () => {
    await slow.start();
    stack = await startStack({ worker: true, env: { SEND_DELIVERY_GUARANTEE: 'at-least-once' } });
  });
  afterAll(async () => {
    await stack?.close();
    await slow.stop();
  });

  it('retries an unknown outcome until it is confirmed: nothing lost, a duplicate possible (the documented trade-off)', async () => {
    const sg = await newProvider(stack, 'sendgrid', { apiKey: 'SG.k', endpoint: `http://127.0.0.1:${slow.port}`, requestTimeoutMs: 1000 });
    slow.latency(2500);
    const client = await newClient(stack);
    const c = await campaignWithLeads(stack, client, { providers: [sg.name], mailboxes: 1, leads: 2 });
    await c.start();
    await eventually(async () => slow.attempts >= 1, 30_000, 20);
    await slow.recover(); // answers in time again
    await c.waitDone(90_000);
    const { rows } = await stack.pool.query<{ status: string; n: number }>(
      'SELECT status, count(*)::int AS n FROM sends WHERE campaign_id = $1 GROUP BY status',
      [c.campaignId],
    );
    expect(rows).toEqual([{ status: 'sent', n: 2 }]);
    const counts = deliveriesPerAddress(slow.messages);
    // The first send (whichever lead it was) answered too late and was retried: one lead got it twice.
    expect(c.emails.map((e) => counts.get(e) ?? 0).sort()).toEqual([1, 2]);
  }, 120_000);
});
