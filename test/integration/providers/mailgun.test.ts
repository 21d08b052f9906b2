import { MailgunProvider } from '../../../activities/providers/mailgun';
import { type SendErrorClass } from '../../../activities/providers/types';
import { MailgunFake } from '../../fakes/mailgun-fake';
import { failure, message } from '../../helpers/provider-messages';


describe('Mailgun adapter (fetch) against the local fake', () => {
  const fake = new MailgunFake();
  let mg: MailgunProvider;

  beforeAll(async () => {
    const url = await fake.start();
    mg = new MailgunProvider('acct-mg', 'mailgun-test', { apiKey: 'key-test', domain: 'mg.sender.example', endpoint: url }, { timeoutMs: 400 });
  });
  afterEach(() => fake.recover());
  afterAll(async () => {
    await mg.close();
    await fake.stop();
  });

  test('a send records text, html, h: unsubscribe and threading headers, v:correlation_id, and returns the id', async () => {
    const res = await mg.send(message());
    const rec = fake.messages.at(-1)!;
    expect(res.messageIdHeader).toBe('<m-1@sender.example>'); // the provider keeps the Message-ID we set
    expect(res.providerMessageId).toBe(rec.id);
    expect(rec).toMatchObject({
      domain: 'mg.sender.example',
      from: '"Alice Sender" <alice@sender.example>',
      to: ['bob@lead.example'],
      subject: 'Quick question',
      text: 'Hi Bob, plain text.',
      html: '<p>Hi Bob, <b>html</b>.</p>',
      correlationId: 'send:7f3c/step-2',
      auth: 'api:key-test',
    });
    expect(rec.headers).toMatchObject({
      'list-unsubscribe': '<https://u.example/unsub/abc>, <mailto:unsub@u.example>',
      'list-unsubscribe-post': 'List-Unsubscribe=One-Click',
      'in-reply-to': '<m-0@sender.example>',
      references: '<m-0@sender.example>',
      'message-id': '<m-1@sender.example>',
    });
  });

  test('429 with Retry-After → throttled with the hint; times: 1 lets the next one through', async () => {
    fake.throttle({ retryAfterSeconds: 2, times: 1 });
    const err = await failure(mg.send(message()));
    expect(err.errorClass).toBe('throttled');
    expect(err.retryAfterMs).toBe(2000);
    await expect(mg.send(message())).resolves.toHaveProperty('providerMessageId');
  });

  test('429 with only X-RateLimit-Reset (epoch seconds) → throttled until the reset', async () => {
    fake.throttle({ resetEpochSeconds: Math.floor(Date.now() / 1000) + 10, times: 1 });
    const err = await failure(mg.send(message()));
    expect(err.retryAfterMs).toBeGreaterThan(5000);
    expect(err.retryAfterMs).toBeLessThanOrEqual(10_000);
  });

  const cases: [string, () => unknown, SendErrorClass][] = [
    ['500', () => fake.fail(500), 'transient'],
    ['503 (one 503 is not an outage)', () => fake.fail(503), 'transient'],
    ['401 Forbidden (bad key)', () => fake.authFail(), 'sender_misconfigured'],
    ['400 on the recipient', () => fake.rejectRecipient('bob@lead.example'), 'recipient_invalid'],
    ['400 on the from parameter', () => fake.respondWith({ status: 400, body: { message: "'from' parameter is not a valid address. please check documentation" } }), 'sender_misconfigured'],
    ['404 unknown domain', () => fake.respondWith({ status: 404, body: { message: 'Domain not found: mg.sender.example' } }), 'sender_misconfigured'],
    ['403 disabled domain', () => fake.respondWith({ status: 403, body: { message: 'Domain mg.sender.example is disabled' } }), 'provider_down'],
    ['504 from a gateway', () => fake.respondWith({ status: 504, body: 'Gateway Timeout' }), 'ambiguous'],
  ];
  test.each(cases.map(([name, inject, expected]) => [name, expected, inject] as const))('%s → %s', async (_name, expected, inject) => {
    inject();
    const before = fake.accepted;
    const err = await failure(mg.send(message()));
    expect(err.errorClass).toBe(expected);
    expect(fake.accepted).toBe(before);
  });

  test('connection reset while connecting (before the request was written) → provider_down', async () => {
    await fake.resetConnections(1);
    const before = fake.attempts;
    const err = await failure(mg.send(message()));
    expect(err.errorClass).toBe('provider_down');
    expect(err.message).toMatch(/connect ECONNRESET/);
    expect(fake.attempts).toBe(before);
    await expect(mg.send(message())).resolves.toHaveProperty('providerMessageId');
  });

  test('outage → provider_down; recover() listens on the same port and sends succeed again', async () => {
    const port = fake.port;
    await fake.outage();
    const err = await failure(mg.send(message()));
    expect(err.errorClass).toBe('provider_down');
    await fake.recover();
    expect(fake.port).toBe(port);
    await expect(mg.send(message())).resolves.toHaveProperty('providerMessageId');
  });

  test('connection dropped after the body was accepted → ambiguous, and the fake did accept it', async () => {
    fake.dropAfterAccept(1);
    const before = fake.accepted;
    const err = await failure(mg.send(message({ correlationId: 'dropped-1' })));
    expect(err.errorClass).toBe('ambiguous');
    expect(fake.accepted).toBe(before + 1);
    expect(fake.messages.at(-1)!.correlationId).toBe('dropped-1');
  });

  test('no answer within the request timeout → ambiguous', async () => {
    fake.latency(1500);
    const err = await failure(mg.send(message()));
    expect(err.errorClass).toBe('ambiguous');
  });
});
