import type http from 'node:http';
import { HttpFake, authOf, throttleHeaders, type Decision, type HttpReply, type ParsedRequest } from './fault-control';

export interface MailgunRecord {
  domain: string;
  from: string;
  to: string[];
  subject: string;
  text?: string;
  html?: string;
  /** `h:` fields, names lower-cased. */
  headers: Record<string, string>;
  /** `v:` fields. */
  variables: Record<string, string>;
  correlationId?: string;
  /** Basic auth as decoded ("api:key-…"). */
  auth: string;
  id: string;
}

/** Just enough of Mailgun `POST /v3/:domain/messages` (urlencoded or simple multipart form). */
export class MailgunFake extends HttpFake<MailgunRecord> {
  protected matches(req: http.IncomingMessage): boolean {
    return req.method === 'POST' && /^\/v3\/[^/]+\/messages$/.test((req.url ?? '').split('?')[0]);
  }

  protected parse(req: http.IncomingMessage, body: Buffer): ParsedRequest<MailgunRecord> {
    const domain = decodeURIComponent(/^\/v3\/([^/]+)\/messages/.exec(req.url ?? '')?.[1] ?? '');
    const fields = parseForm(String(req.headers['content-type'] ?? ''), body);
    const one = (k: string) => fields.find(([n]) => n === k)?.[1];
    const to = fields.filter(([n]) => n === 'to').flatMap(([, v]) => v.split(',').map((s) => s.trim()).filter(Boolean));
    if (!one('from') || to.length === 0) throw { status: 400, body: { message: "'from' and 'to' parameters are missing" } } as HttpReply;
    const headers: Record<string, string> = {};
    const variables: Record<string, string> = {};
    for (const [n, v] of fields) {
      if (n.startsWith('h:')) headers[n.slice(2).toLowerCase()] = v;
      if (n.startsWith('v:')) variables[n.slice(2)] = v;
    }
    const basic = /^Basic (.+)$/i.exec(authOf(req))?.[1];
    const record: MailgunRecord = {
      domain,
      from: one('from') ?? '',
      to,
      subject: one('subject') ?? '',
      text: one('text'),
      html: one('html'),
      headers,
      variables,
      correlationId: variables.correlation_id,
      auth: basic ? Buffer.from(basic, 'base64').toString('utf8') : '',
      id: `<${Date.now()}.${this.attempts}@${domain}>`,
    };
    return { record, recipients: to };
  }

  protected acceptedReply(record: MailgunRecord): HttpReply {
    return { status: 200, body: { id: record.id, message: 'Queued. Thank you.' } };
  }

  protected errorReply(d: Exclude<Decision, { kind: 'ok' } | { kind: 'drop' }>): HttpReply {
    switch (d.kind) {
      case 'auth':
        return { status: 401, headers: { 'Content-Type': 'text/plain' }, body: 'Forbidden' };
      case 'throttle':
        return { status: d.fault.status ?? 429, headers: throttleHeaders(d.fault), body: { message: 'Too many requests' } };
      case 'fail':
        return { status: d.status, body: { message: d.status === 503 ? 'Service Unavailable' : 'Internal Server Error' } };
      case 'reject':
        return { status: 400, body: { message: `'to' parameter is not a valid address. please check documentation (${d.address})` } };
      case 'canned':
        return d.response;
    }
  }
}

/** Form fields in order, repeated names kept. */
function parseForm(contentType: string, body: Buffer): [string, string][] {
  if (contentType.startsWith('application/x-www-form-urlencoded')) {
    return [...new URLSearchParams(body.toString('utf8')).entries()];
  }
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(contentType);
  if (!contentType.startsWith('multipart/form-data') || !boundary) return [];
  const out: [string, string][] = [];
  for (const part of body.toString('utf8').split(`--${boundary[1] ?? boundary[2]}`)) {
    const i = part.indexOf('\r\n\r\n');
    if (i < 0) continue;
    const name = /name="([^"]*)"/.exec(part.slice(0, i))?.[1];
    if (name !== undefined) out.push([name, part.slice(i + 4).replace(/\r\n$/, '')]);
  }
  return out;
}
