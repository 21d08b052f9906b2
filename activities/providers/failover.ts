import type { Pool } from 'pg';
import type { Logger } from '../../core/logger';
import { breakerRows, recordAttempt, takeProbe, transitionBreaker, windowStats } from '../../db/repositories/provider-health';
import {
  admission,
  countsAsFailure,
  DEFAULT_BREAKER,
  DEFAULT_PROBE_LEASE_MS,
  failsOverAtOnce,
  needsWindowStats,
  retryDelayWhenUnavailable,
  verdictAfterFailure,
  type BreakerSettings,
  type BreakerState,
} from './breaker-policy';
import type { ProviderRegistry } from './registry';
import { ProviderSendError, type OutgoingMessage } from './types';

export interface Delivered {
  accountId: string;
  providerName: string;
  providerMessageId: string;
  /** The Message-ID header the recipient receives (SendResult.messageIdHeader). */
  messageIdHeader: string | null;
}

/**
 * Sends through a mailbox's providers in order, honouring each account's
 * circuit breaker (state in Postgres, shared by every worker). A
 * provider-side failure (a 5xx answer, a refused connection, a provider that
 * cannot send) counts toward that account's breaker and hands the message to
 * the next provider in the same attempt. Outcomes that must not move to
 * another provider (ambiguous, recipient-permanent, sender-misconfigured,
 * throttled) are thrown as they are, and so is the last provider's failure.
 * An account whose breaker is open is skipped; when its cool-off ends one
 * send takes the probe and every other send skips it meanwhile.
 */
export class FailoverSender {
  private readonly probeLeaseMs: number;

  constructor(
    private readonly pool: Pool,
    private readonly registry: ProviderRegistry,
    private readonly logger: Logger,
    private readonly settings: BreakerSettings = DEFAULT_BREAKER,
  ) {
    this.probeLeaseMs = settings.probeLeaseMs ?? DEFAULT_PROBE_LEASE_MS;
  }

  /** `beforeNextProvider`: called before a failed-over send tries the next provider (the activity heartbeats there). */
  async send(accountIds: string[], message: OutgoingMessage, attemptId: string, beforeNextProvider?: () => void): Promise<Delivered> {
    const rows = await breakerRows(this.pool, accountIds);
    let lastError: ProviderSendError | null = null;
    for (const [i, accountId] of accountIds.entries()) {
      const decision = admission(rows.get(accountId), Date.now());
      if (decision === 'skip') continue;
      const wasProbe = decision === 'probe';
      if (wasProbe) {
        const took = await takeProbe(this.pool, accountId, attemptId, new Date(Date.now() + this.probeLeaseMs));
        if (!took) continue; // another send holds the probe: this one goes on to the next provider
        if (took === 'expired_probe') this.logger.warn({ providerId: accountId }, 'probe lease expired: taking the probe over');
      }
      const provider = await this.registry.get(accountId);
      try {
        const result = await provider.send(message);
        await recordAttempt(this.pool, accountId, true, null);
        if (wasProbe) await this.switch(accountId, ['half_open'], 'closed', 'probe succeeded', null);
        return { accountId, providerName: provider.name, providerMessageId: result.providerMessageId, messageIdHeader: result.messageIdHeader };
      } catch (err) {
        if (!(err instanceof ProviderSendError)) throw err; // a probe left half-open is taken over when its lease ends
        err.accountId = accountId;
        lastError = err;
        if (countsAsFailure(err.errorClass)) await recordAttempt(this.pool, accountId, false, err.errorClass);
        const stats = needsWindowStats(wasProbe, err.errorClass) ? await windowStats(this.pool, accountId, this.settings.windowMs) : undefined;
        const verdict = verdictAfterFailure({ wasProbe, errorClass: err.errorClass, message: err.message, stats }, this.settings);
        if (verdict) {
          const probeAt = verdict.to === 'open' ? new Date(Date.now() + this.settings.openForMs) : null;
          await this.switch(accountId, wasProbe ? ['half_open'] : ['closed'], verdict.to, verdict.reason, probeAt);
        }
        // Only a send that surely did not go out may move to the next provider.
        if (!failsOverAtOnce(err.errorClass)) throw err;
        if (i < accountIds.length - 1) {
          this.logger.warn({ providerId: accountId, errorClass: err.errorClass, probe: wasProbe }, 'failing over to the next provider');
          beforeNextProvider?.();
        }
      }
    }
    if (lastError) throw lastError;
    const waitMs = retryDelayWhenUnavailable(accountIds.map((id) => rows.get(id)), Date.now(), this.settings);
    throw new ProviderSendError('provider_down', 'every provider of this mailbox is unavailable (breakers open)', waitMs);
  }

  private async switch(accountId: string, from: BreakerState[], to: BreakerState, reason: string, probeAt: Date | null) {
    const changed = await transitionBreaker(this.pool, accountId, from, to, reason, probeAt);
    if (changed) this.logger.warn({ providerId: accountId, to, reason }, 'provider breaker switched');
  }
}
