import type { Pool } from 'pg';
import type { Logger } from '../../core/logger';
import { breakerRows, recordAttempt, transitionBreaker, windowStats } from '../../db/repositories/provider-health';
import {
  admission,
  countsAsFailure,
  DEFAULT_BREAKER,
  opensAtOnce,
  rateExceeded,
  type BreakerSettings,
} from './breaker-policy';
import type { ProviderRegistry } from './registry';
import { ProviderSendError, type OutgoingMessage } from './types';

export interface Delivered {
  accountId: string;
  providerName: string;
  providerMessageId: string;
}

/**
 * Sends through a mailbox's providers in order, honouring each account's
 * circuit breaker (state in Postgres, shared by every worker). A provider
 * that is down, or whose breaker opens on this failure, hands the message to
 * the next one. Outcomes that must not move to another provider (ambiguous,
 * recipient-permanent, sender-misconfigured, throttled) are thrown as they are.
 */
export class FailoverSender {
  constructor(
    private readonly pool: Pool,
    private readonly registry: ProviderRegistry,
    private readonly logger: Logger,
    private readonly settings: BreakerSettings = DEFAULT_BREAKER,
  ) {}

  async send(accountIds: string[], message: OutgoingMessage, attemptId: string): Promise<Delivered> {
    const rows = await breakerRows(this.pool, accountIds);
    let lastError: ProviderSendError | null = null;
    let earliestProbe: number | null = null;
    for (const accountId of accountIds) {
      const row = rows.get(accountId);
      const decision = admission(row, Date.now());
      if (decision === 'skip') {
        if (row?.probeAt) earliestProbe = Math.min(earliestProbe ?? row.probeAt, row.probeAt);
        continue;
      }
      if (decision === 'probe') {
        const took = await transitionBreaker(this.pool, accountId, ['open'], 'half_open', 'probe after cool-off', null, attemptId);
        if (!took) continue; // another worker took the probe
      }
      const provider = await this.registry.get(accountId);
      try {
        const result = await provider.send(message);
        await recordAttempt(this.pool, accountId, true, null);
        if (decision === 'probe') {
          await this.switch(accountId, ['half_open'], 'closed', 'probe succeeded', null);
        }
        return { accountId, providerName: provider.name, providerMessageId: result.providerMessageId };
      } catch (err) {
        if (!(err instanceof ProviderSendError)) throw err;
        err.accountId = accountId;
        lastError = err;
        if (countsAsFailure(err.errorClass)) await recordAttempt(this.pool, accountId, false, err.errorClass);
        const opened = await this.afterFailure(accountId, decision === 'probe', err);
        // Only a send that surely did not go out may move to the next provider.
        const mayFailOver = err.errorClass === 'provider_down' || (err.errorClass === 'transient' && opened);
        if (!mayFailOver) throw err;
        this.logger.warn({ providerId: accountId, errorClass: err.errorClass }, 'failing over to the next provider');
      }
    }
    if (lastError) throw lastError;
    const waitMs = earliestProbe !== null ? Math.max(1000, earliestProbe - Date.now()) : this.settings.openForMs;
    throw new ProviderSendError('provider_down', 'every provider of this mailbox is unavailable (breakers open)', waitMs);
  }

  /** Updates the breaker after a failure; returns whether it is open now. */
  private async afterFailure(accountId: string, wasProbe: boolean, err: ProviderSendError): Promise<boolean> {
    const reopen = new Date(Date.now() + this.settings.openForMs);
    if (wasProbe) {
      if (!countsAsFailure(err.errorClass)) {
        await this.switch(accountId, ['half_open'], 'closed', `probe answered (${err.errorClass})`, null);
        return false;
      }
      await this.switch(accountId, ['half_open'], 'open', `probe failed: ${err.errorClass}`, reopen);
      return true;
    }
    if (opensAtOnce(err.errorClass)) {
      await this.switch(accountId, ['closed'], 'open', `provider down: ${err.message.slice(0, 200)}`, reopen);
      return true;
    }
    if (!countsAsFailure(err.errorClass)) return false;
    const stats = await windowStats(this.pool, accountId, this.settings.windowMs);
    if (rateExceeded(stats, this.settings)) {
      const rate = ((stats.failures / stats.attempts) * 100).toFixed(1);
      await this.switch(accountId, ['closed'], 'open', `failure rate ${rate}% over ${stats.attempts} attempts`, reopen);
      return true;
    }
    return false;
  }

  private async switch(accountId: string, from: ('closed' | 'open' | 'half_open')[], to: 'closed' | 'open' | 'half_open', reason: string, probeAt: Date | null) {
    const changed = await transitionBreaker(this.pool, accountId, from, to, reason, probeAt);
    if (changed) this.logger.warn({ providerId: accountId, to, reason }, 'provider breaker switched');
  }
}
