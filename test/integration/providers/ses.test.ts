import { SesProvider, sesTagValue } from '../../../activities/providers/ses';
import { type OutgoingMessage, type SendErrorClass } from '../../../activities/providers/types';
import { awsError, SesFake } from '../../fakes/ses-fake';
import { failure, message } from '../../helpers/provider-messages';


const NGINX_504 = '<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n<center><h1>504 Gateway Time-out</h1></center>\r\n</body>\r\n</html>\r\n';

describe('SES v2 adapter (real SESv2Client) against the local fake', () => {
  const fake = new SesFake();
  let url: string;
  let ses: SesProvider;

  beforeAll(async () => {
    url = await fake.start();
    ses = new SesProvider(
      'acct-ses',
      'ses-test',
      { region: 'eu-west-1', accessKeyId: 'AKIDFAKE', secretAccessKey: 'secret', configurationSet: 'outreach-default', endpoint: url },
      { timeoutMs: 400 },
    );
  });
  afterEach(() => fake.recover());
  afterAll(async () => {
    await ses.close();
    await fake.stop();
  });

  test('a send records text, html, unsubscribe and threading headers, the correlation tag, and returns the MessageId and the Message-ID SES gave the mail', async () => {
    const res = await ses.send(message());
    const rec = fake.messages.at(-1)!;
    expect(res.providerMessageId).toBe(rec.messageId);
    // SES sets Message-ID itself: the send records SES's, which is what the recipient gets and a follow-up names.
    expect(res.messageIdHeader).toBe(`<${rec.messageId}@eu-west-1.amazonses.com>`);
    expect(rec.messageIdHeader).toBe(res.messageIdHeader);
    expect(rec.region).toBe('eu-west-1');
    expect(rec).toMatchObject({
      from: '"Alice Sender" <alice@sender.example>',
      to: ['bob@lead.example'],
      subject: 'Quick question',
      text: 'Hi Bob, plain text.',
      html: '<p>Hi Bob, <b>html</b>.</p>',
      configurationSet: 'outreach-default',
      accessKeyId: 'AKIDFAKE',
      correlationId: 'send_7f3c_step-2',
    });
    expect(rec.headers).toMatchObject({
      'list-unsubscribe': '<https://u.example/unsub/abc>, <mailto:unsub@u.example>',
      'list-unsubscribe-post': 'List-Unsubscribe=One-Click',
      'in-reply-to': '<m-0@sender.example>',
      references: '<m-0@sender.example>',
      'message-id': res.messageIdHeader,
    });
    expect(rec.requestHeaders['message-id']).toBeUndefined(); // none sent: SES would replace it (and v2 refuses it as a custom header)
  });

  test('a message may pick its own configuration set', async () => {
    await ses.send({ ...message(), configurationSet: 'warmup' } as OutgoingMessage);
    expect(fake.messages.at(-1)!.configurationSet).toBe('warmup');
  });

  test('tag values are sanitized to the characters SES allows', () => {
    expect(sesTagValue('a b.c/d:e_f-g')).toBe('a_b_c_d_e_f-g');
    expect(sesTagValue('')).toBe('_');
    expect(sesTagValue('x'.repeat(300))).toHaveLength(256);
  });

  test('429 TooManyRequestsException with Retry-After → throttled with the hint', async () => {
    fake.throttle({ retryAfterSeconds: 7, times: 1 });
    const err = await failure(ses.send(message()));
    expect(err.errorClass).toBe('throttled');
    expect(err.retryAfterMs).toBe(7000);
    expect(err.providerCode).toBe('TooManyRequestsException');
    // times: 1 → the next one goes through
    await expect(ses.send(message())).resolves.toHaveProperty('providerMessageId');
  });

  test('Retry-After as an HTTP date and X-RateLimit-Reset as epoch seconds are understood', async () => {
    fake.throttle({ retryAfterDate: new Date(Date.now() + 20_000), times: 1 });
    const a = await failure(ses.send(message()));
    expect(a.retryAfterMs).toBeGreaterThan(15_000);
    expect(a.retryAfterMs).toBeLessThanOrEqual(20_000);
    fake.throttle({ resetEpochSeconds: Math.floor(Date.now() / 1000) + 30, times: 1 });
    const b = await failure(ses.send(message()));
    expect(b.retryAfterMs).toBeGreaterThan(25_000);
    expect(b.retryAfterMs).toBeLessThanOrEqual(30_000);
  });

  const cases: [string, () => unknown, SendErrorClass, string | number | undefined][] = [
    ['500 InternalServiceErrorException', () => fake.fail(500), 'transient', 'InternalServiceErrorException'],
    ['503 ServiceUnavailable (one 503 is not an outage)', () => fake.fail(503), 'transient', 'ServiceUnavailable'],
    ['403 UnrecognizedClientException', () => fake.authFail(), 'sender_misconfigured', 'UnrecognizedClientException'],
    ['MessageRejected: the recipient is on the suppression list', () => fake.rejectRecipient('bob@lead.example'), 'recipient_invalid', 'MessageRejected'],
    ['MessageRejected for the message (too long)', () => fake.respondWith(awsError(400, 'MessageRejected', 'Message length is more than 10485760 bytes long')), 'recipient_permanent', 'MessageRejected'],
    [
      'MessageRejected: Email address is not verified',
      () => fake.respondWith(awsError(400, 'MessageRejected', 'Email address is not verified. The following identities failed the check in region EU-WEST-1: alice@sender.example')),
      'sender_misconfigured',
      'MessageRejected',
    ],
    ['MailFromDomainNotVerifiedException', () => fake.respondWith(awsError(400, 'MailFromDomainNotVerifiedException', 'MAIL FROM domain not verified')), 'sender_misconfigured', 'MailFromDomainNotVerifiedException'],
    ['NotFoundException (configuration set)', () => fake.respondWith(awsError(404, 'NotFoundException', 'Configuration set <warmup> does not exist.')), 'sender_misconfigured', 'NotFoundException'],
    ['LimitExceededException (daily quota)', () => fake.respondWith(awsError(400, 'LimitExceededException', 'Daily message quota exceeded.')), 'throttled', 'LimitExceededException'],
    ['SendingPausedException', () => fake.respondWith(awsError(400, 'SendingPausedException', 'Sending paused for this account.')), 'provider_down', 'SendingPausedException'],
    ['AccountSuspendedException', () => fake.respondWith(awsError(400, 'AccountSuspendedException', 'Account suspended.')), 'provider_down', 'AccountSuspendedException'],
    ['BadRequestException on an illegal address', () => fake.respondWith(awsError(400, 'BadRequestException', "Missing final '@domain'")), 'recipient_invalid', 'BadRequestException'],
    ['504 from a gateway', () => fake.respondWith({ status: 504, body: 'Gateway Timeout' }), 'ambiguous', undefined],
    // Gateways answer in HTML the SDK cannot parse: the status still decides (nginx's 504 says "Time-out").
    ['504 from nginx, an HTML page', () => fake.respondWith({ status: 504, headers: { 'content-type': 'text/html' }, body: NGINX_504 }), 'ambiguous', 504],
    ['502 from a gateway, an HTML page', () => fake.respondWith({ status: 502, headers: { 'content-type': 'text/html' }, body: '<html><body>502 Bad Gateway</body></html>' }), 'transient', 502],
    ['503 with an empty body', () => fake.respondWith({ status: 503 }), 'transient', undefined],
    ['500 with a plain-text body', () => fake.respondWith({ status: 500, body: 'oops' }), 'transient', 500],
  ];
  test.each(cases.map(([name, inject, expected, code]) => [name, expected, inject, code] as const))('%s → %s', async (_name, expected, inject, code) => {
    inject();
    const before = fake.accepted;
    const err = await failure(ses.send(message()));
    expect(err.errorClass).toBe(expected);
    if (code !== undefined) expect(err.providerCode).toBe(code);
    expect(fake.accepted).toBe(before);
  });

  test('outage → provider_down; recover() listens on the same port and sends succeed again', async () => {
    const port = fake.port;
    await fake.outage();
    const err = await failure(ses.send(message()));
    expect(err.errorClass).toBe('provider_down');
    await fake.recover();
    expect(fake.port).toBe(port);
    await expect(ses.send(message())).resolves.toHaveProperty('providerMessageId');
  });

  test('a 2xx answer the SDK cannot read may have been accepted → ambiguous (never re-sent)', async () => {
    fake.respondWith({ status: 200, body: 'not json', times: 1 });
    const err = await failure(ses.send(message()));
    expect(err.errorClass).toBe('ambiguous');
    expect(err.providerCode).toBe(200);
  });

  test('connection reset while connecting (before the request was written) → provider_down', async () => {
    await fake.resetConnections(1);
    const before = fake.attempts;
    const err = await failure(ses.send(message()));
    expect(err.errorClass).toBe('provider_down');
    expect(err.message).toMatch(/connect ECONNRESET/);
    expect(fake.attempts).toBe(before);
    await expect(ses.send(message())).resolves.toHaveProperty('providerMessageId');
  });

  test('connection dropped after the body was accepted → ambiguous, and the fake did accept it', async () => {
    fake.dropAfterAccept(1);
    const before = fake.accepted;
    const err = await failure(ses.send(message({ correlationId: 'dropped-1' })));
    expect(err.errorClass).toBe('ambiguous');
    expect(fake.accepted).toBe(before + 1);
    expect(fake.messages.at(-1)!.correlationId).toBe('dropped-1');
  });

  test('no answer within the request timeout → ambiguous', async () => {
    fake.latency(1500);
    const err = await failure(ses.send(message()));
    expect(err.errorClass).toBe('ambiguous');
  });

  test('the SDK does not retry on its own', async () => {
    fake.fail(500);
    const before = fake.attempts;
    await failure(ses.send(message()));
    expect(fake.attempts).toBe(before + 1);
  });
});
