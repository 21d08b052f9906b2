import type { z } from 'zod';
import type { mailgunConfig } from '../../core/schemas/providers';
import { DEFAULT_TIMEOUT_MS, classifyHttpStatus, classifyNetworkError, formatAddress, messageHeaders, type HttpProviderOptions } from './http-errors';
import { ProviderSendError, type EmailProvider, type OutgoingMessage, type SendResult } from './types';

type MailgunConfig = z.infer<typeof mailgunConfig>;

const DEFAULT_ENDPOINT = 'https://api.mailgun.net';

/** Maps a Mailgun HTTP error response onto the shared classes. */
export function classifyMailgunResponse(status: number, bodyText: string, headers: Headers): ProviderSendError {
  let detail = bodyText.trim().slice(0, 500);
  try {
    const parsed = JSON.parse(bodyText) as { message?: unknown };
    if (typeof parsed.message === 'string') detail = parsed.message;
  } catch {
    // Mailgun answers some errors (401 "Forbidden") as plain text.
  }
  const msg = `mailgun: HTTP ${status} ${detail}`;
  if ((status === 401 || status === 403) && /disabled|suspended|deactivated/i.test(detail)) {
    return new ProviderSendError('provider_down', msg, undefined, status);
  }
  if (status === 400 && /'?from'? parameter|sender/i.test(detail)) {
    return new ProviderSendError('sender_misconfigured', msg, undefined, status);
  }
  // "'to' parameter is not a valid address": the recipient's address itself is bad.
  if (status === 400 && /'?(to|cc|bcc)'? parameter is not a valid address/i.test(detail)) {
    return new ProviderSendError('recipient_invalid', msg, undefined, status);
  }
  return classifyHttpStatus('mailgun', status, detail, headers);
}

/** Mailgun's messages API over plain fetch (no SDK). */
export class MailgunProvider implements EmailProvider {
  readonly kind = 'mailgun' as const;
  private readonly url: string;
  private readonly auth: string;
  private readonly timeoutMs: number;

  constructor(
    readonly accountId: string,
    readonly name: string,
    config: MailgunConfig,
    options: HttpProviderOptions = {},
  ) {
    // Trailing slashes off without /\/+$/, which retries at every slash of a long run (the operator's input).
    const endpoint = config.endpoint ?? DEFAULT_ENDPOINT;
    let end = endpoint.length;
    while (end > 0 && endpoint.charCodeAt(end - 1) === 0x2f /* / */) end--;
    const base = endpoint.slice(0, end);
    this.url = `${base}/v3/${encodeURIComponent(config.domain)}/messages`;
    this.auth = `Basic ${Buffer.from(`api:${config.apiKey}`).toString('base64')}`;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async send(m: OutgoingMessage): Promise<SendResult> {
    const form = new URLSearchParams();
    form.append('from', formatAddress(m.from));
    form.append('to', m.to);
    form.append('subject', m.subject);
    form.append('text', m.text);
    if (m.html) form.append('html', m.html);
    form.append('h:Message-Id', m.messageId);
    for (const [k, v] of Object.entries(messageHeaders(m))) form.append(`h:${k}`, v);
    form.append('v:correlation_id', m.correlationId);

    let res: Response;
    let bodyText: string;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: { Authorization: this.auth, Accept: 'application/json' },
        body: form,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      bodyText = await res.text();
    } catch (err) {
      throw classifyNetworkError('mailgun', err);
    }
    if (!res.ok) throw classifyMailgunResponse(res.status, bodyText, res.headers);
    let id: unknown;
    try {
      id = (JSON.parse(bodyText) as { id?: unknown }).id;
    } catch {
      // Accepted (2xx) with an unreadable body: our own Message-ID still identifies it.
    }
    // Mailgun sends the Message-Id we give (h:Message-Id) as it is.
    return { providerMessageId: typeof id === 'string' && id ? id : m.messageId, messageIdHeader: m.messageId };
  }

  async close(): Promise<void> {
    // fetch's sockets belong to the process-wide dispatcher.
  }
}
