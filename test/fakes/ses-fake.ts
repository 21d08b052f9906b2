import type http from 'node:http';
import { HttpFake, authOf, throttleHeaders, type Decision, type HttpReply, type ParsedRequest } from './fault-control';

export interface SesRecord {
  from: string;
  to: string[];
  subject: string;
  text?: string;
  html?: string;
  /** The headers the mail carries (names lower-cased): the request's, with SES's own Message-ID. */
  headers: Record<string, string>;
  /** The custom headers exactly as the request gave them (names lower-cased). */
  requestHeaders: Record<string, string>;
  tags: Record<string, string>;
  correlationId?: string;
  configurationSet?: string;
  /** Access key id from the SigV4 Authorization header. */
  accessKeyId?: string;
  /** The region the request was signed for (the SigV4 credential scope). */
  region?: string;
  messageId: string;
  /**
   * The Message-ID header the recipient receives: SES's own
   * `<MessageId@region.amazonses.com>` (`email.amazonses.com` in us-east-1),
   * whatever the request set (`headers['message-id']` holds the same).
   */
  messageIdHeader: string;
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

/**
 * Just enough of SES v2 SendEmail (`POST /v2/email/outbound-emails`, Simple
 * content). As SES does, it gives every mail its own Message-ID,
 * `<MessageId@region.amazonses.com>` for the region the request was signed
 * for, over any the request set.
 */
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
    const requestHeaders: Record<string, string> = {};
    for (const h of simple.Headers ?? []) requestHeaders[h.Name.toLowerCase()] = h.Value;
    const tags: Record<string, string> = {};
    for (const t of b.EmailTags ?? []) tags[t.Name] = t.Value;
    // Credential=AKID/20260101/eu-west-1/ses/aws4_request
    const scope = /Credential=([^/,\s]+)\/\d{8}\/([a-z0-9-]+)\//.exec(authOf(req));
    const messageId = `0100fake${this.instance}${String(this.attempts).padStart(8, '0')}-ses`;
    // SES sets Message-ID itself, over any the request gave (as the mail it sends shows).
    const messageIdHeader = `<${messageId}@${scope?.[2] === 'us-east-1' || !scope ? 'email' : scope[2]}.amazonses.com>`;
    const headers = { ...requestHeaders, 'message-id': messageIdHeader };
    const record: SesRecord = {
      from: b.FromEmailAddress,
      to: b.Destination.ToAddresses,
      subject: simple.Subject?.Data ?? '',
      text: simple.Body?.Text?.Data,
      html: simple.Body?.Html?.Data,
      headers,
      requestHeaders,
      tags,
      correlationId: tags.correlation_id,
      configurationSet: b.ConfigurationSetName,
      accessKeyId: scope?.[1] ?? /Credential=([^/]+)\//.exec(authOf(req))?.[1],
      region: scope?.[2],
      messageId,
      messageIdHeader,
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
