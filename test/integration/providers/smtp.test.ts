import { classifySmtpError, SmtpProvider } from '../../../activities/providers/smtp';
import { type SendErrorClass } from '../../../activities/providers/types';
import { SmtpFake } from '../../fakes/smtp-fake';
import { failure, message } from '../../helpers/provider-messages';


describe('SmtpProvider (nodemailer) against the faulty SMTP fake', () => {
  const fake = new SmtpFake();
  let smtp: SmtpProvider;

  beforeAll(async () => {
    await fake.start();
    smtp = new SmtpProvider('acct-smtp', 'smtp-test', { host: '127.0.0.1', port: fake.port, secure: false, requireTls: false, user: 'mailbox', pass: 'pw' });
  });
  afterEach(() => fake.recover());
  afterAll(async () => {
    await smtp.close();
    await fake.stop();
  });

  test('a send records text, html, unsubscribe and threading headers, X-Outreach-Correlation-Id, and returns the queue id', async () => {
    const res = await smtp.send(message());
    const rec = fake.messages.at(-1)!;
    expect(res.messageIdHeader).toBe('<m-1@sender.example>'); // the provider keeps the Message-ID we set
    expect(res.providerMessageId).toBe(rec.queueId);
    expect(rec.to).toEqual(['bob@lead.example']);
    expect(rec.user).toBe('mailbox');
    expect(rec.raw).toContain('Hi Bob, plain text.');
    expect(rec.raw).toContain('<b>html</b>');
    expect(rec.headers).toMatchObject({
      'list-unsubscribe': '<https://u.example/unsub/abc>, <mailto:unsub@u.example>',
      'list-unsubscribe-post': 'List-Unsubscribe=One-Click',
      'in-reply-to': '<m-0@sender.example>',
      references: '<m-0@sender.example>',
      'message-id': '<m-1@sender.example>',
      'x-outreach-correlation-id': 'send:7f3c/step-2',
    });
  });

  const cases: [string, () => unknown, SendErrorClass][] = [
    // A 421 on a reused pooled connection is re-queued by nodemailer onto a new one (no byte of
    // the message went out); the fault persists here, so the fresh connection's 421 surfaces.
    ['421 to MAIL FROM (throttle)', () => fake.throttle(), 'throttled'],
    ['451 to MAIL FROM (throttle)', () => fake.throttle({ status: 451 }), 'throttled'],
    ['550 to RCPT TO (no such user)', () => fake.rejectRecipient('bob@lead.example'), 'recipient_invalid'],
    ['530 to MAIL FROM on an already authenticated pooled connection', () => fake.authFail(), 'sender_misconfigured'],
    // A 4xx reply to the message body is a temporary refusal of that message, not a rate limit.
    ['451 after DATA', () => fake.fail(451), 'transient'],
    // smtp.ts (and the spec) treat a 5xx reply to the end of DATA as ambiguous.
    ['554 after DATA', () => fake.fail(554), 'ambiguous'],
  ];
  test.each(cases.map(([name, inject, expected]) => [name, expected, inject] as const))('%s → %s', async (_name, expected, inject) => {
    inject();
    const before = fake.accepted;
    const err = await failure(smtp.send(message()));
    expect(err.errorClass).toBe(expected);
    expect(fake.accepted).toBe(before);
  });

  test('535 to AUTH on a new connection → sender_misconfigured', async () => {
    fake.authFail();
    const fresh = new SmtpProvider('acct-smtp-2', 'smtp-fresh', { host: '127.0.0.1', port: fake.port, secure: false, requireTls: false, user: 'mailbox', pass: 'wrong' });
    try {
      const err = await failure(fresh.send(message()));
      expect(err.errorClass).toBe('sender_misconfigured');
      expect(err.providerCode).toBe(535);
    } finally {
      await fresh.close();
    }
  });

  test('connection reset while connecting (before the request was written) → provider_down', async () => {
    await fake.resetConnections(1);
    const before = fake.attempts;
    const err = await failure(smtp.send(message()));
    expect(err.errorClass).toBe('provider_down');
    expect(err.message).toMatch(/connect ECONNRESET/);
    expect(fake.attempts).toBe(before);
    await expect(smtp.send(message())).resolves.toHaveProperty('providerMessageId');
  });

  test('outage → provider_down; recover() listens on the same port and sends succeed again', async () => {
    const port = fake.port;
    await fake.outage();
    const err = await failure(smtp.send(message()));
    expect(err.errorClass).toBe('provider_down');
    await fake.recover();
    expect(fake.port).toBe(port);
    await expect(smtp.send(message())).resolves.toHaveProperty('providerMessageId');
  });

  test('connection dropped after the body was received: the send fails and the fake accepted it exactly once', async () => {
    fake.dropAfterAccept(1);
    const before = { accepted: fake.accepted, attempts: fake.attempts };
    await failure(smtp.send(message({ correlationId: 'dropped-1' })));
    await new Promise((r) => setTimeout(r, 200)); // nodemailer's pool must not have re-queued it
    expect(fake.accepted).toBe(before.accepted + 1);
    expect(fake.attempts).toBe(before.attempts + 1);
    expect(fake.messages.at(-1)!.headers['x-outreach-correlation-id']).toBe('dropped-1');
  });

  // Known misclassifications in smtp.ts (reported, not fixed here: smtp.ts belongs to another change).
  test('connection dropped after DATA is ambiguous (never re-sent blindly)', async () => {
    fake.dropAfterAccept(1);
    const err = await failure(smtp.send(message()));
    expect(err.errorClass).toBe('ambiguous');
  });

  test('a socket timeout waiting for the reply to DATA is ambiguous', () => {
    // What nodemailer 10 reports for it: every socket timeout is ETIMEDOUT with command "CONN".
    const err = Object.assign(new Error('Timeout'), { code: 'ETIMEDOUT', command: 'CONN', timeoutType: 'SOCKET_TIMEOUT' });
    expect(classifySmtpError(err).errorClass).toBe('ambiguous');
  });
});
