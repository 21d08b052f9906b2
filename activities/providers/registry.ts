import type { Pool } from 'pg';
import type { SecretBox } from '../../core/crypto';
import { loadProviderAccount } from '../../db/repositories/providers';
import type { z } from 'zod';
import type { mailgunConfig, sendgridConfig, sesConfig, smtpConfig } from '../../core/schemas/providers';
import { MailgunProvider } from './mailgun';
import { SendgridProvider } from './sendgrid';
import { SesProvider } from './ses';
import { SmtpProvider } from './smtp';
import { ProviderSendError, type EmailProvider } from './types';

/**
 * Builds each provider account's client once (from its decrypted
 * credentials) and reuses it for every send of this worker.
 */
export class ProviderRegistry {
  private readonly cache = new Map<string, Promise<EmailProvider>>();

  constructor(
    private readonly pool: Pool,
    private readonly box: SecretBox,
  ) {}

  get(accountId: string): Promise<EmailProvider> {
    let p = this.cache.get(accountId);
    if (!p) {
      p = this.build(accountId);
      this.cache.set(accountId, p);
      p.catch(() => this.cache.delete(accountId));
    }
    return p;
  }

  private async build(accountId: string): Promise<EmailProvider> {
    const account = await loadProviderAccount(this.pool, this.box, accountId);
    if (!account) throw new ProviderSendError('sender_misconfigured', `provider account ${accountId} not found`);
    const options = { timeoutMs: (account.config as { requestTimeoutMs?: number }).requestTimeoutMs };
    switch (account.kind) {
      case 'smtp':
        return new SmtpProvider(account.id, account.name, account.config as z.infer<typeof smtpConfig>);
      case 'ses':
        return new SesProvider(account.id, account.name, account.config as z.infer<typeof sesConfig>, options);
      case 'sendgrid':
        return new SendgridProvider(account.id, account.name, account.config as z.infer<typeof sendgridConfig>, options);
      case 'mailgun':
        return new MailgunProvider(account.id, account.name, account.config as z.infer<typeof mailgunConfig>, options);
    }
  }

  async closeAll(): Promise<void> {
    const all = [...this.cache.values()];
    this.cache.clear();
    await Promise.all(all.map(async (p) => (await p.catch(() => null))?.close()));
  }
}
