import type { ProviderKind } from '../../core/schemas/providers';

/**
 * The one set of failure classes every adapter maps onto. The send activity
 * decides retry, failover and give-up from the class alone.
 */
export const SEND_ERROR_CLASSES = [
  'throttled', // retry after the provider's hint
  'transient', // retry
  'recipient_invalid', // the address does not exist or cannot take mail: a hard bounce (suppress it)
  'recipient_permanent', // give up for this lead (the message, not the address, was refused)
  'sender_misconfigured', // give up for this mailbox and pause it
  'provider_down', // trip the breaker, fail over
  'ambiguous', // may have been accepted: never re-send blindly
] as const;
export type SendErrorClass = (typeof SEND_ERROR_CLASSES)[number];

export class ProviderSendError extends Error {
  /** The provider account that raised it (set by the failover sender). */
  accountId?: string;

  constructor(
    readonly errorClass: SendErrorClass,
    message: string,
    readonly retryAfterMs?: number,
    readonly providerCode?: string | number,
  ) {
    super(message);
    this.name = 'ProviderSendError';
  }
}

export interface OutgoingMessage {
  from: { address: string; name?: string };
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** RFC 5322 Message-ID, stable across retries of the same send. */
  messageId: string;
  /** Echoed back by the provider in its events (tags, custom args, variables, X- header). */
  correlationId: string;
  headers: Record<string, string>;
  inReplyTo?: string;
  references?: string[];
  /** SES: configuration set (IP pool) for this send, overriding the account's. */
  configurationSet?: string;
}

export interface SendResult {
  providerMessageId: string;
  /**
   * The Message-ID header the recipient receives, which later steps name in
   * In-Reply-To / References: ours, except where the provider replaces it
   * (SES: `<MessageId@region.amazonses.com>`); null when it is not known.
   */
  messageIdHeader: string | null;
}

export interface EmailProvider {
  readonly accountId: string;
  readonly name: string;
  readonly kind: ProviderKind;
  send(message: OutgoingMessage): Promise<SendResult>;
  close(): Promise<void>;
}
