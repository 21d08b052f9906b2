import { Client } from '@sendgrid/client';
import type { z } from 'zod';
import type { sendgridConfig } from '../../core/schemas/providers';
import { DEFAULT_TIMEOUT_MS, classifyHttpStatus, classifyNetworkError, getHeader, messageHeaders, type HeaderBag, type HttpProviderOptions } from './http-errors';
import { ProviderSendError, type EmailProvider, type OutgoingMessage, type SendResult } from './types';

type SendgridConfig = z.infer<typeof sendgridConfig>;

interface SendgridResponseError extends Error {
  code?: number | string;
  response?: { headers?: HeaderBag; body?: unknown };
}

interface SendgridErrorBody {
  errors?: { message?: string | null; field?: string | null }[];
}

/** Maps a @sendgrid/client (axios) failure onto the shared classes. */
export function classifySendgridError(err: unknown): ProviderSendError {
  const e = err as SendgridResponseError;
  if (typeof e?.code !== 'number' || !e.response) return classifyNetworkError('sendgrid', err);
  const status = e.code;
  const errors = (e.response.body as SendgridErrorBody | undefined)?.errors ?? [];
  const detail = errors.map((x) => `${x.message ?? ''}${x.field ? ` [${x.field}]` : ''}`).join('; ') || e.message;
  if ((status === 401 || status === 403) && /maximum credits|suspended|disabled|deactivated/i.test(detail)) {
    // The account cannot send at all (out of credits, suspended): fail over.
    return new ProviderSendError('provider_down', `sendgrid: HTTP ${status} ${detail}`, undefined, status);
  }
  if (status === 400) {
    // A 400 about the sender (unverified or malformed from, bad reply_to) is the mailbox's problem.
    const aboutSender = errors.some((x) => /^(from|reply_to)\b/.test(x.field ?? '') || /\bfrom address|sender identity/i.test(x.message ?? ''));
    if (aboutSender) return new ProviderSendError('sender_misconfigured', `sendgrid: HTTP 400 ${detail}`, undefined, status);
    // "Does not contain a valid address." on a recipient's email field: the address itself is bad.
    const badRecipient = errors.length > 0 && errors.every((x) => /^personalizations\.\d+\.(to|cc|bcc)\.\d+\.email$/.test(x.field ?? ''));
    if (badRecipient) return new ProviderSendError('recipient_invalid', `sendgrid: HTTP 400 ${detail}`, undefined, status);
  }
  return classifyHttpStatus('sendgrid', status, detail, e.response.headers);
}

/**
 * SendGrid v3 mail/send through its own @sendgrid/client instance (not the
 * module singleton), so each account keeps its key and base URL.
 *
 * The engine's one SendGrid package is @sendgrid/client, not @sendgrid/mail:
 * @sendgrid/mail takes a base URL only through a @sendgrid/client Client
 * (setClient), so it would be two packages, and its send() copies the
 * message's headers onto the HTTP request too (Message-ID, References,
 * List-Unsubscribe with its token would travel as API request headers).
 */
export class SendgridProvider implements EmailProvider {
  readonly kind = 'sendgrid' as const;
  private readonly client: Client;

  constructor(
    readonly accountId: string,
    readonly name: string,
    config: SendgridConfig,
    options: HttpProviderOptions = {},
  ) {
    this.client = new Client();
    // setApiKey resets the base URL to the region's host, so the override goes after it.
    this.client.setApiKey(config.apiKey);
    const defaults = { url: '', timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS, ...(config.endpoint ? { baseUrl: config.endpoint } : {}) };
    this.client.setDefaultRequest(defaults);
  }

  async send(m: OutgoingMessage): Promise<SendResult> {
    const content = [{ type: 'text/plain', value: m.text }];
    if (m.html) content.push({ type: 'text/html', value: m.html });
    const body = {
      personalizations: [{ to: [{ email: m.to }] }],
      from: m.from.name ? { email: m.from.address, name: m.from.name } : { email: m.from.address },
      subject: m.subject,
      content,
      headers: { 'Message-ID': m.messageId, ...messageHeaders(m) },
      custom_args: { correlation_id: m.correlationId },
    };
    try {
      const [response] = await this.client.request({ method: 'POST', url: '/v3/mail/send', body });
      // Accepted: without an x-message-id our own Message-ID still identifies it.
      // SendGrid keeps a Message-ID header we set (it is not one of its reserved headers).
      return { providerMessageId: getHeader(response.headers as HeaderBag, 'x-message-id') ?? m.messageId, messageIdHeader: m.messageId };
    } catch (err) {
      throw classifySendgridError(err);
    }
  }

  async close(): Promise<void> {
    // axios keeps no per-client resources; sockets belong to the shared agent.
  }
}
