import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import type { z } from 'zod';
import type { sesConfig } from '../../core/schemas/providers';
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_TIMEOUT_MS,
  classifyHttpStatus,
  classifyNetworkError,
  formatAddress,
  messageHeaders,
  retryAfterMs,
  type HeaderBag,
  type HttpProviderOptions,
} from './http-errors';
import { ProviderSendError, type EmailProvider, type OutgoingMessage, type SendResult } from './types';

type SesConfig = z.infer<typeof sesConfig>;

/** An OutgoingMessage that may pick its own SES configuration set. */
export type SesOutgoingMessage = OutgoingMessage & { configurationSet?: string };

interface AwsServiceError extends Error {
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number; headers?: HeaderBag };
}

const THROTTLED = new Set([
  'TooManyRequestsException', // per-second send rate
  'LimitExceededException', // daily quota / max send rate
  'Throttling',
  'ThrottlingException',
]);
/** The account itself cannot send: fail over to another provider. */
const ACCOUNT_STOPPED = new Set(['AccountSuspendedException', 'SendingPausedException']);
const MISCONFIGURED = new Set([
  'MailFromDomainNotVerifiedException',
  'NotFoundException', // configuration set does not exist
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'InvalidClientTokenId',
  'IncompleteSignature',
  'MissingAuthenticationToken',
  'AccessDeniedException',
  'AccessDenied',
  'ExpiredTokenException',
]);

/**
 * SES's answers about a bad destination address (its address parser's, and
 * "Address blacklisted" for an address on its suppression list after an
 * earlier hard bounce). The sender's address is checked before these (above),
 * and our From is a verified mailbox, so they name the recipient.
 */
const SES_RECIPIENT_INVALID = /address blacklisted|illegal address|missing final '@domain'|domain (contains|starts with|ends with) (illegal|dot)|local address contains|invalid (to|recipient|destination)\b/i;

/**
 * The Message-ID header SES gives every mail it sends, in place of any we set:
 * `<MessageId@region.amazonses.com>`, and `<MessageId@email.amazonses.com>`
 * in us-east-1 (as mail sent from there carries it).
 */
export function sesMessageIdHeader(messageId: string, region: string): string {
  const host = region === 'us-east-1' ? 'email' : region;
  return `<${messageId}@${host}.amazonses.com>`;
}

/**
 * Maps an SES v2 SDK failure onto the shared classes. An answer the SDK could
 * not read (a gateway's HTML page, an empty body: no `$fault`) is still
 * classified by its HTTP status, so a 504 stays ambiguous and a 502 transient;
 * a 2xx it could not read may have been accepted (ambiguous).
 */
export function classifySesError(err: unknown): ProviderSendError {
  const e = err as AwsServiceError;
  const status = e?.$metadata?.httpStatusCode ?? e?.$response?.statusCode;
  if (typeof status !== 'number') return classifyNetworkError('ses', err);
  const headers = e.$response?.headers;
  if (!e.$fault) {
    const detail = `unreadable answer (${e.name}: ${e.message.split('\n')[0]})`;
    if (status < 300) return new ProviderSendError('ambiguous', `ses: HTTP ${status} ${detail}`, undefined, status);
    return classifyHttpStatus('ses', status, detail, headers);
  }
  const name = e.name;
  const msg = `ses: ${name} (${status}): ${e.message}`;
  if (THROTTLED.has(name) || status === 429) return new ProviderSendError('throttled', msg, retryAfterMs(headers), name);
  if (ACCOUNT_STOPPED.has(name)) return new ProviderSendError('provider_down', msg, undefined, name);
  if (MISCONFIGURED.has(name)) return new ProviderSendError('sender_misconfigured', msg, undefined, name);
  if (name === 'MessageRejected' || name === 'BadRequestException') {
    // "Email address is not verified. The following identities failed the check…" is the
    // sandbox / unverified-identity rejection: a property of the account, not of the lead.
    if (/not verified|identit|sandbox|from ?address|source|configuration set/i.test(e.message)) {
      return new ProviderSendError('sender_misconfigured', msg, undefined, name);
    }
    // The recipient's address itself: malformed, or on SES's list of addresses that bounced before.
    if (SES_RECIPIENT_INVALID.test(e.message)) return new ProviderSendError('recipient_invalid', msg, undefined, name);
    return new ProviderSendError('recipient_permanent', msg, undefined, name);
  }
  const byStatus = classifyHttpStatus('ses', status, `${name}: ${e.message}`, headers);
  return new ProviderSendError(byStatus.errorClass, byStatus.message, byStatus.retryAfterMs, name);
}

/** SES tag values allow only ASCII letters, digits, `_` and `-`, up to 256 characters. */
export function sesTagValue(v: string): string {
  return v.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 256) || '_';
}

/**
 * Amazon SES through the v2 API (SendEmail, Simple content). The SDK's own
 * retries are off: Temporal owns retries, and a blind SDK retry after an
 * ambiguous failure could send twice. SES sets the Message-ID header itself
 * (`<MessageId@region.amazonses.com>`, replacing any we give, and the v2
 * API refuses one as a custom header of Simple content), so none is sent and
 * the send records SES's: that is what the recipient received and what a
 * follow-up must name.
 */
export class SesProvider implements EmailProvider {
  readonly kind = 'ses' as const;
  private readonly client: SESv2Client;
  private readonly configurationSet?: string;
  private readonly region: string;

  constructor(
    readonly accountId: string,
    readonly name: string,
    config: SesConfig,
    options: HttpProviderOptions = {},
  ) {
    this.configurationSet = config.configurationSet;
    this.region = config.region;
    this.client = new SESv2Client({
      region: config.region,
      endpoint: config.endpoint,
      credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
      maxAttempts: 1,
      requestHandler: {
        connectionTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
        requestTimeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        throwOnRequestTimeout: true,
      },
    });
  }

  async send(m: SesOutgoingMessage): Promise<SendResult> {
    const headers = messageHeaders(m);
    const configurationSet = m.configurationSet ?? this.configurationSet;
    try {
      const out = await this.client.send(
        new SendEmailCommand({
          FromEmailAddress: formatAddress(m.from),
          Destination: { ToAddresses: [m.to] },
          Content: {
            Simple: {
              Subject: { Data: m.subject, Charset: 'UTF-8' },
              Body: {
                Text: { Data: m.text, Charset: 'UTF-8' },
                ...(m.html ? { Html: { Data: m.html, Charset: 'UTF-8' } } : {}),
              },
              Headers: Object.entries(headers).map(([Name, Value]) => ({ Name, Value })),
            },
          },
          ConfigurationSetName: configurationSet,
          EmailTags: [{ Name: 'correlation_id', Value: sesTagValue(m.correlationId) }],
        }),
      );
      // Accepted: without a MessageId our own Message-ID still identifies the send, but the header is SES's and unknown.
      if (!out.MessageId) return { providerMessageId: m.messageId, messageIdHeader: null };
      return { providerMessageId: out.MessageId, messageIdHeader: sesMessageIdHeader(out.MessageId, this.region) };
    } catch (err) {
      throw classifySesError(err);
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
