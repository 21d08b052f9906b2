import { classifyInbound } from '../../core/inbound/classify';
import { parseInbound } from '../../services/inbound/parse';

const crlf = (lines: string[]) => Buffer.from(lines.join('\r\n'));

function dsn(returned: 'text/rfc822-headers' | 'message/rfc822'): Buffer {
  return crlf([
    'From: Mail Delivery System <MAILER-DAEMON@mx.example.org>', 'To: s0@send.example.com', 'Subject: Undelivered Mail Returned to Sender',
    'Message-ID: <dsn-1@mx.example.org>', 'Auto-Submitted: auto-replied', 'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status; boundary="b-dsn"', '',
    '--b-dsn', 'Content-Type: text/plain; charset=us-ascii', '', 'Could not deliver.', '',
    '--b-dsn', 'Content-Type: message/delivery-status', '', 'Reporting-MTA: dns; mx.example.org', '',
    'Final-Recipient: rfc822; Ann@Example.org', 'Action: failed', 'Status: 5.1.1', 'Diagnostic-Code: smtp; 550 5.1.1 unknown', '',
    '--b-dsn', `Content-Type: ${returned}`, '', 'From: s0@send.example.com', 'To: ann@example.org', 'Subject: Hello',
    'Message-ID:', ' <orig-1@send.example.com>', '', ...(returned === 'message/rfc822' ? ['the original body', ''] : []),
    '--b-dsn--', '',
  ]);
}

describe('inbound parsing (mailparser) into what the classifier reads', () => {
  it.each(['text/rfc822-headers', 'message/rfc822'] as const)('a DSN returning %s: its status part and the returned Message-ID', async (returned) => {
    const mail = await parseInbound(dsn(returned));
    expect(mail).toMatchObject({ contentType: 'multipart/report', reportType: 'delivery-status', text: 'Could not deliver.\n' });
    expect(mail.deliveryStatus).toContain('Final-Recipient: rfc822; Ann@Example.org');
    expect(classifyInbound(mail)).toEqual({
      kind: 'dsn',
      originalMessageId: '<orig-1@send.example.com>',
      recipients: [{ address: 'ann@example.org', action: 'failed', status: '5.1.1', hard: true, failed: true, diagnostic: 'smtp; 550 5.1.1 unknown' }],
    });
  });

  it('a reply: its ids, its sender lower-cased, headers unfolded, quoted-printable text decoded', async () => {
    const mail = await parseInbound(crlf([
      'From: "Ann Lead" <ANN@Example.org>', 'To: s0@send.example.com', 'Subject: =?UTF-8?Q?Re:_Caf=C3=A9?=', 'Message-ID: <r1@example.org>',
      'In-Reply-To: <s2@send.example.com>', 'References: <s1@send.example.com>', ' <s2@send.example.com>', 'Auto-Submitted: no',
      'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: quoted-printable', '', 'Caf=C3=A9 on Monday?', '',
    ]));
    expect(mail).toMatchObject({
      messageId: '<r1@example.org>', inReplyTo: ['<s2@send.example.com>'], references: ['<s1@send.example.com>'],
      from: 'ann@example.org', subject: 'Re: Café', contentType: 'text/plain', reportType: null, deliveryStatus: null,
    });
    expect(mail.headers.references).toBe('<s1@send.example.com> <s2@send.example.com>');
    expect(mail.text.trim()).toBe('Café on Monday?');
    expect(classifyInbound(mail)).toEqual({ kind: 'reply' });
  });

  it('a message with no Message-ID or From still parses', async () => {
    const mail = await parseInbound(crlf(['Subject: hi', '', 'body']));
    expect(mail).toMatchObject({ messageId: null, from: null, inReplyTo: [], references: [], subject: 'hi' });
  });
});
