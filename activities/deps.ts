import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { Logger } from '../core/logger';
import type { MailboxRuleSettings } from '../workflows/policy/mailbox-reputation';
import type { BreakerSettings } from './providers/breaker-policy';
import type { ProviderRegistry } from './providers/registry';

/** Built once in worker/main.ts (or a test) and closed over by every activity. */
export interface ActivityDeps {
  pool: Pool;
  providers: ProviderRegistry;
  logger: Logger;
  clock: () => Date;
  client: Client;
  publicBaseUrl: string;
  /** HMAC key for unsubscribe tokens (core/unsubscribe.ts). */
  unsubscribeKey: Buffer;
  /** HMAC key for open and click tokens (core/tracking/token.ts); without it no campaign's mail is tracked. */
  trackingKey?: Buffer;
  /** Key erased addresses are hashed under (core/privacy.ts); the send step refuses an erased address with it. */
  privacyKey?: Buffer;
  /** Circuit-breaker settings; DEFAULT_BREAKER when omitted. */
  breaker?: BreakerSettings;
  /** See SEND_DELIVERY_GUARANTEE in core/config.ts; at-most-once when omitted. */
  deliveryGuarantee?: 'at-most-once' | 'at-least-once';
  /** The one mailbox reputation rule (a send-time hard bounce is judged by it); DEFAULT_MAILBOX_RULE when omitted. */
  mailboxRule?: MailboxRuleSettings;
  /** Alerts are also POSTed here (ALERT_WEBHOOK_URL). */
  alertWebhookUrl?: string;
}
