import type http from 'node:http';
import { HttpFake, authOf, throttleHeaders, type Decision, type HttpReply, type ParsedRequest } from './fault-control';

export interface SesRecord {
  from: string;
  to: string[];
  subject: string;
  text?: string;
  html?: string;
  headers: Record<string, string>;
  tags: Record<string, string>;
  correlationId?: string;
  configurationSet?: string;
  /** Access key id from the SigV4 Authorization header. */
  accessKeyId?: string;
  messageId: string;
}

interface SendEmailBody {
  FromEmailAddress?: string;
  Destination?: { ToAddresses?: string[] };
  Content?: {
    Simple?: {
      Subject?: { Data?: string };
      Body?: { Text?: { Data?: string }; Html?: { Data?: string } };
      Headers?: { Name: string; Value: string }[];
    };
  };
  ConfigurationSetName?: string;
  EmailTags?: { Name: string; Value: string }[];
}

/** AWS restJson1 error: the SDK takes the exception name from x-amzn-ErrorType. */
export function awsError(status: number, type: string, message: string, headers: Record<string, string> = {}): HttpReply {
  return { status, headers: { 'x-amzn-ErrorType': type, 'x-amzn-RequestId': 'fake-request', ...headers }, body: { message } };
}

/** Just enough of SES v2 SendEmail (`POST /v2/email/outbound-emails`, Simple content). */
export class SesFake extends HttpFake<SesRecord> {
  protected matches(req: http.IncomingMessage): boolean {
    return req.method === 'POST' && (req.url ?? '').split('?')[0] === '/v2/email/outbound-emails';
  }

  protected parse(req: http.IncomingMessage, body: Buffer): ParsedRequest<SesRecord> {
    let b: SendEmailBody;
    try {
      b = JSON.parse(body.toString('utf8')) as SendEmailBody;
    } catch {
      throw awsError(400, 'BadRequestException', 'Malformed JSON');
    }
    const simple = b.Content?.Simple;
    if (!b.FromEmailAddress || !b.Destination?.ToAddresses?.length || !simple) {
      throw awsError(400, 'BadRequestException', 'Missing FromEmailAddress, Destination or Simple content');
    }
    const headers: Record<string, string> = {};
    for (const h of simple.Headers ?? []) headers[h.Name.toLowerCase()] = h.Value;
    const tags: Record<string, string> = {};
    for (const t of b.EmailTags ?? []) tags[t.Name] = t.Value;
    const record: SesRecord = {
      from: b.FromEmailAddress,
      to: b.Destination.ToAddresses,
      subject: simple.Subject?.Data ?? '',
      text: simple.Body?.Text?.Data,
      html: simple.Body?.Html?.Data,
      headers,
      tags,
      correlationId: tags.correlation_id,
      configurationSet: b.ConfigurationSetName,
      accessKeyId: /Credential=([^/]+)\//.exec(authOf(req))?.[1],
      messageId: `0100fake${this.instance}${String(this.attempts).padStart(8, '0')}-ses`,
    };
    return { record, recipients: record.to };
  }

  protected acceptedReply(record: SesRecord): HttpReply {
    return { status: 200, body: { MessageId: record.messageId } };
  }

  protected errorReply(d: Exclude<Decision, { kind: 'ok' } | { kind: 'drop' }>): HttpReply {
    switch (d.kind) {
      case 'auth':
        return awsError(403, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
      case 'throttle':
        return awsError(d.fault.status ?? 429, 'TooManyRequestsException', 'Maximum sending rate exceeded.', throttleHeaders(d.fault));
      case 'fail':
        if (d.status === 503) return awsError(503, 'ServiceUnavailable', 'Service unavailable');
        return awsError(d.status, 'InternalServiceErrorException', 'Internal service error');
      case 'reject':
        return awsError(400, 'MessageRejected', `Address blacklisted: ${d.address}`);
      case 'canned':
        return d.response;
    }
  }
}
