import { classifyMailgunResponse } from '../../activities/providers/mailgun';
import { classifySendgridError } from '../../activities/providers/sendgrid';
import { classifySesError, sesMessageIdHeader } from '../../activities/providers/ses';
import { classifyRcptRejection, classifySmtpError } from '../../activities/providers/smtp';

/**
 * Which permanent refusals at send time are hard bounces (recipient_invalid:
 * the send is bounced and the address suppressed) and which are not: a
 * refusal about our sender or relay pauses the mailbox, and any other
 * refusal fails the lead's send without judging its address.
 */
describe('SMTP: a permanent reply to RCPT TO', () => {
  const cases: [string, number, string, ReturnType<typeof classifyRcptRejection>][] = [
    ['no such user (enhanced 5.1.1)', 550, '550 5.1.1 <bob@lead.example>: Recipient address rejected: User unknown', 'recipient_invalid'],
    ["Gmail's account does not exist", 550, "550-5.1.1 The email account that you tried to reach does not exist. Please try\r\n550 5.1.1 double-checking the recipient's email address", 'recipient_invalid'],
    ['no such domain (5.1.2)', 550, '550 5.1.2 Host unknown', 'recipient_invalid'],
    ['bad address syntax (5.1.3) on a 501', 501, '501 5.1.3 Bad recipient address syntax', 'recipient_invalid'],
    ['mailbox moved (5.1.6)', 551, '551 5.1.6 User not local', 'recipient_invalid'],
    ['null MX (5.1.10)', 550, '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup', 'recipient_invalid'],
    ['mailbox disabled (5.2.1)', 550, '550 5.2.1 The email account that you tried to reach is disabled', 'recipient_invalid'],
    ['550 without an enhanced code', 550, '550 No such user here', 'recipient_invalid'],
    ['551 without an enhanced code', 551, '551 User not local; please try <bob@elsewhere.example>', 'recipient_invalid'],
    ['553 without an enhanced code', 553, '553 Requested action not taken: mailbox name not allowed', 'recipient_invalid'],
    ['an address naming the relay or a sender is still the recipient', 550, '550 No such user: relay-sender@lead.example', 'recipient_invalid'],
    ['relay denied (5.7.1)', 550, '550 5.7.1 <bob@lead.example>: Relay access denied', 'sender_misconfigured'],
    ['unable to relay, no enhanced code', 550, '550 Unable to relay for bob@lead.example', 'sender_misconfigured'],
    ['sender rejected at RCPT', 553, '553 5.7.1 <ann@send.example>: Sender address rejected: not owned by user', 'sender_misconfigured'],
    ["bad sender's system (5.1.8)", 550, '550 5.1.8 Bad sender system address', 'sender_misconfigured'],
    ['sender, no enhanced code', 550, '550 Sender verify failed', 'sender_misconfigured'],
    ['authentication required', 550, '550 5.7.0 Authentication required', 'sender_misconfigured'],
    ['our IP is on a block list (5.7.1)', 550, '550 5.7.1 Service unavailable; client host blocked using Spamhaus', 'recipient_permanent'],
    ['policy, no enhanced code', 550, '550 Rejected by policy: blocked', 'recipient_permanent'],
    ['mailbox full (5.2.2)', 552, '552 5.2.2 Mailbox full', 'recipient_permanent'],
    ['552 without an enhanced code', 552, '552 Requested mail action aborted: exceeded storage allocation', 'recipient_permanent'],
    ['554 transaction failed', 554, '554 Transaction failed', 'recipient_permanent'],
  ];
  test.each(cases)('%s → %s', (_name, code, reply, expected) => {
    expect(classifyRcptRejection(code, reply)).toBe(expected);
  });

  it('reads the reply nodemailer hands over, at RCPT and at MAIL FROM', () => {
    const rcpt = (response: string) => Object.assign(new Error(`Can't send mail - all recipients were rejected: ${response}`), {
      code: 'EENVELOPE', command: 'RCPT TO', response, responseCode: Number(response.slice(0, 3)),
    });
    expect(classifySmtpError(rcpt('550 5.1.1 No such user here')).errorClass).toBe('recipient_invalid');
    expect(classifySmtpError(rcpt('550 5.7.1 Relaying denied')).errorClass).toBe('sender_misconfigured');
    expect(classifySmtpError(rcpt('552 5.2.2 Mailbox full')).errorClass).toBe('recipient_permanent');
    const mail = Object.assign(new Error('Mail command failed: 550 5.1.1 No such user'), { code: 'EENVELOPE', command: 'MAIL FROM', response: '550 5.1.1 No such user', responseCode: 550 });
    expect(classifySmtpError(mail).errorClass).toBe('sender_misconfigured'); // a 5xx to MAIL FROM is about the sender
  });
});

describe('HTTP providers: their invalid-recipient answers', () => {
  const aws = (name: string, message: string, status = 400) => Object.assign(new Error(message), { name, $fault: 'client' as const, $metadata: { httpStatusCode: status } });
  it('SES: a malformed or suppressed destination address is a hard bounce; the sender, the sandbox and other refusals are not', () => {
    expect(classifySesError(aws('MessageRejected', 'Address blacklisted.')).errorClass).toBe('recipient_invalid');
    expect(classifySesError(aws('BadRequestException', "Missing final '@domain'")).errorClass).toBe('recipient_invalid');
    expect(classifySesError(aws('BadRequestException', 'Illegal address')).errorClass).toBe('recipient_invalid');
    expect(classifySesError(aws('BadRequestException', 'Domain contains illegal character')).errorClass).toBe('recipient_invalid');
    expect(classifySesError(aws('MessageRejected', 'Email address is not verified. The following identities failed the check in region EU-WEST-1: bob@lead.example')).errorClass).toBe('sender_misconfigured');
    expect(classifySesError(aws('MessageRejected', 'Message length is more than 10485760 bytes long')).errorClass).toBe('recipient_permanent');
  });
  it('SendGrid: "does not contain a valid address" on a recipient field only', () => {
    const sg = (errors: { message: string; field: string | null }[]) => Object.assign(new Error('Bad Request'), { code: 400, response: { headers: {}, body: { errors } } });
    expect(classifySendgridError(sg([{ message: 'Does not contain a valid address.', field: 'personalizations.0.to.0.email' }])).errorClass).toBe('recipient_invalid');
    expect(classifySendgridError(sg([{ message: 'Does not contain a valid address.', field: 'from.email' }])).errorClass).toBe('sender_misconfigured');
    expect(classifySendgridError(sg([{ message: 'The content value must be a string at least one character in length.', field: 'content.0.value' }])).errorClass).toBe('recipient_permanent');
    expect(classifySendgridError(sg([
      { message: 'Does not contain a valid address.', field: 'personalizations.0.to.0.email' },
      { message: 'The subject is required.', field: 'subject' },
    ])).errorClass).toBe('recipient_permanent'); // not only the address
  });
  it("Mailgun: \"'to' parameter is not a valid address\"", () => {
    const h = new Headers();
    expect(classifyMailgunResponse(400, JSON.stringify({ message: "'to' parameter is not a valid address. please check documentation" }), h).errorClass).toBe('recipient_invalid');
    expect(classifyMailgunResponse(400, JSON.stringify({ message: "'from' parameter is not a valid address. please check documentation" }), h).errorClass).toBe('sender_misconfigured');
    expect(classifyMailgunResponse(400, JSON.stringify({ message: 'Need at least one of text or html parameters' }), h).errorClass).toBe('recipient_permanent');
  });
});

describe('sesMessageIdHeader', () => {
  it('is the Message-ID SES gives the mail: <MessageId@region.amazonses.com>, email.amazonses.com in us-east-1', () => {
    expect(sesMessageIdHeader('0102abc-000000', 'eu-west-1')).toBe('<0102abc-000000@eu-west-1.amazonses.com>');
    expect(sesMessageIdHeader('0100abc-000000', 'us-east-1')).toBe('<0100abc-000000@email.amazonses.com>');
  });
});
