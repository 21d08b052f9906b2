import { SendgridProvider } from '../../../activities/providers/sendgrid';
import { type SendErrorClass } from '../../../activities/providers/types';
import { SendgridFake, sendgridError } from '../../fakes/sendgrid-fake';
import { failure, message } from '../../helpers/provider-messages';


describe('SendGrid adapter (real @sendgrid/client) against the local fake', () => {
  const fake = new SendgridFake();
  let sg: SendgridProvider;

  beforeAll(async () => {
    const url = await fake.start();
    sg = new SendgridProvider('acct-sg', 'sendgrid-test', { apiKey: 'SG.test-key', endpoint: url }, { timeoutMs: 400 });
  });
  afterEach(() => fake.recover());
  afterAll(async () => {
    await sg.close();
    await fake.stop();
  });

  test('a send records text, html, unsubscribe and threading headers, custom_args correlation_id, and returns x-message-id', async () => {
    const res = await sg.send(message());
    const rec = fake.messages.at(-1)!;
    expect(res.messageIdHeader).toBe('<m-1@sender.example>'); // the provider keeps the Message-ID we set
    expect(res.providerMessageId).toBe(rec.messageId);
    expect(rec).toMatchObject({
      from: 'alice@sender.example',
      fromName: 'Alice Sender',
      to: ['bob@lead.example'],
      subject: 'Quick question',
      text: 'Hi Bob, plain text.',
      html: '<p>Hi Bob, <b>html</b>.</p>',
      correlationId: 'send:7f3c/step-2',
      auth: 'Bearer SG.test-key',
    });
    expect(rec.headers).toMatchObject({
      'list-unsubscribe': '<https://u.example/unsub/abc>, <mailto:unsub@u.example>',
      'list-unsubscribe-post': 'List-Unsubscribe=One-Click',
      'in-reply-to': '<m-0@sender.example>',
      references: '<m-0@sender.example>',
      'message-id': '<m-1@sender.example>',
    });
  });

  test('each account has its own client: a second account keeps its own key and base URL', async () => {
    const other = new SendgridFake();
    const otherUrl = await other.start();
    const sg2 = new SendgridProvider('acct-sg-2', 'sendgrid-2', { apiKey: 'SG.other-key', endpoint: otherUrl });
    try {
      await sg2.send(message());
      await sg.send(message());
      expect(other.messages.at(-1)!.auth).toBe('Bearer SG.other-key');
      expect(fake.messages.at(-1)!.auth).toBe('Bearer SG.test-key');
    } finally {
      await sg2.close();
      await other.stop();
    }
  });

  test('429 with Retry-After → throttled with the hint; times: 1 lets the next one through', async () => {
    fake.throttle({ retryAfterSeconds: 3, times: 1 });
    const err = await failure(sg.send(message()));
    expect(err.errorClass).toBe('throttled');
    expect(err.retryAfterMs).toBe(3000);
    expect(err.providerCode).toBe(429);
    await expect(sg.send(message())).resolves.toHaveProperty('providerMessageId');
  });

  test('429 with only X-RateLimit-Reset (epoch seconds) → throttled until the reset', async () => {
    fake.throttle({ resetEpochSeconds: Math.floor(Date.now() / 1000) + 10, times: 1 });
    const err = await failure(sg.send(message()));
    expect(err.errorClass).toBe('throttled');
    expect(err.retryAfterMs).toBeGreaterThan(5000);
    expect(err.retryAfterMs).toBeLessThanOrEqual(10_000);
  });

  const cases: [string, () => unknown, SendErrorClass][] = [
    ['500', () => fake.fail(500), 'transient'],
    ['503 (one 503 is not an outage)', () => fake.fail(503), 'transient'],
    ['401 bad key', () => fake.authFail(), 'sender_misconfigured'],
    ['403 unverified sender identity', () => fake.respondWith(sendgridError(403, 'The from address does not match a verified Sender Identity.', 'from')), 'sender_misconfigured'],
    ['400 on the recipient', () => fake.rejectRecipient('bob@lead.example'), 'recipient_invalid'],
    ['400 on the from address', () => fake.respondWith(sendgridError(400, 'The from email does not contain a valid address.', 'from.email')), 'sender_misconfigured'],
    ['401 Maximum credits exceeded (account cannot send)', () => fake.respondWith(sendgridError(401, 'Maximum credits exceeded')), 'provider_down'],
    ['504 from a gateway', () => fake.respondWith({ status: 504, body: 'Gateway Timeout' }), 'ambiguous'],
  ];
  test.each(cases.map(([name, inject, expected]) => [name, expected, inject] as const))('%s → %s', async (_name, expected, inject) => {
    inject();
    const before = fake.accepted;
    const err = await failure(sg.send(message()));
    expect(err.errorClass).toBe(expected);
    expect(fake.accepted).toBe(before);
  });

  test('connection reset while connecting (before the request was written) → provider_down', async () => {
    await fake.resetConnections(1);
    const before = fake.attempts;
    const err = await failure(sg.send(message()));
    expect(err.errorClass).toBe('provider_down');
    expect(err.message).toMatch(/connect ECONNRESET/);
    expect(fake.attempts).toBe(before);
    await expect(sg.send(message())).resolves.toHaveProperty('providerMessageId');
  });

  test('outage → provider_down; recover() listens on the same port and sends succeed again', async () => {
    const port = fake.port;
    await fake.outage();
    const err = await failure(sg.send(message()));
    expect(err.errorClass).toBe('provider_down');
    await fake.recover();
    expect(fake.port).toBe(port);
    await expect(sg.send(message())).resolves.toHaveProperty('providerMessageId');
  });

  test('connection dropped after the body was accepted → ambiguous, and the fake did accept it', async () => {
    fake.dropAfterAccept(1);
    const before = fake.accepted;
    const err = await failure(sg.send(message({ correlationId: 'dropped-1' })));
    expect(err.errorClass).toBe('ambiguous');
    expect(fake.accepted).toBe(before + 1);
    expect(fake.messages.at(-1)!.correlationId).toBe('dropped-1');
  });

  test('no answer within the request timeout → ambiguous', async () => {
    fake.latency(1500);
    const err = await failure(sg.send(message()));
    expect(err.errorClass).toBe('ambiguous');
  });
});
