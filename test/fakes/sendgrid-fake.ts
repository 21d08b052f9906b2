import type http from 'node:http';
import { HttpFake, authOf, throttleHeaders, type Decision, type HttpReply, type ParsedRequest } from './fault-control';

export interface SendgridRecord {
  from: string;
  fromName?: string;
  to: string[];
  subject: string;
  text?: string;
  html?: string;
  headers: Record<string, string>;
  customArgs: Record<string, string>;
  correlationId?: string;
  /** The Authorization header as sent ("Bearer SG.…"). */
  auth: string;
  messageId: string;
}

interface MailSendBody {
  personalizations?: { to?: { email: string }[]; custom_args?: Record<string, string> }[];
  from?: { email: string; name?: string };
  subject?: string;
  content?: { type: string; value: string }[];
  headers?: Record<string, string>;
  custom_args?: Record<string, string>;
}

export function sendgridError(status: number, message: string, field: string | null = null, headers: Record<string, string> = {}): HttpReply {
  return { status, headers, body: { errors: [{ message, field, help: null }] } };
}

/** Just enough of SendGrid v3 `POST /v3/mail/send`. */
export class SendgridFake extends HttpFake<SendgridRecord> {
  protected matches(req: http.IncomingMessage): boolean {
    return req.method === 'POST' && (req.url ?? '').split('?')[0] === '/v3/mail/send';
  }

  protected parse(req: http.IncomingMessage, body: Buffer): ParsedRequest<SendgridRecord> {
    let b: MailSendBody;
    try {
      b = JSON.parse(body.toString('utf8')) as MailSendBody;
    } catch {
      throw sendgridError(400, 'Invalid JSON');
    }
    const to = (b.personalizations ?? []).flatMap((p) => (p.to ?? []).map((t) => t.email));
    if (!b.from?.email || to.length === 0) throw sendgridError(400, 'The from and to fields are required.', 'from');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(b.headers ?? {})) headers[k.toLowerCase()] = v;
    const customArgs = { ...(b.custom_args ?? {}), ...(b.personalizations?.[0]?.custom_args ?? {}) };
    const record: SendgridRecord = {
      from: b.from.email,
      fromName: b.from.name,
      to,
      subject: b.subject ?? '',
      text: b.content?.find((c) => c.type === 'text/plain')?.value,
      html: b.content?.find((c) => c.type === 'text/html')?.value,
      headers,
      customArgs,
      correlationId: customArgs.correlation_id,
      auth: authOf(req),
      messageId: `sgfake${this.instance}${String(this.attempts).padStart(6, '0')}`,
    };
    return { record, recipients: to };
  }

  protected acceptedReply(record: SendgridRecord): HttpReply {
    return { status: 202, headers: { 'X-Message-Id': record.messageId } };
  }

  protected errorReply(d: Exclude<Decision, { kind: 'ok' } | { kind: 'drop' }>): HttpReply {
    switch (d.kind) {
      case 'auth':
        return sendgridError(401, 'The provided authorization grant is invalid, expired, or revoked');
      case 'throttle':
        return sendgridError(d.fault.status ?? 429, 'too many requests', null, throttleHeaders(d.fault));
      case 'fail':
        return sendgridError(d.status, d.status === 503 ? 'Service Unavailable' : 'Internal Server Error');
      case 'reject':
        return sendgridError(400, 'Does not contain a valid address.', 'personalizations.0.to.0.email');
      case 'canned':
        return d.response;
    }
  }
}
