/**
 * Cooldowns and pauses driven by send outcomes.
 *
 * - throttled: cooldown of min(throttleMax, throttleBase * 2^streak) seconds
 *   (300, 600, 1200, ... capped), or the provider's Retry-After when longer;
 *   the streak then grows by one. An existing later cooldown is kept.
 * - sent / delivered: reset the throttle streak. 'sent' also adds an 'ok' to
 *   the ring of recent outcomes; 'delivered' does not, because it reports on
 *   a mail already counted by its 'sent'.
 * - bounced / complained: added to the ring (the last bounceWindow entries).
 *   Rates are counts over the ring's length. A bounce spike is a bounce rate
 *   strictly above bounceThreshold once the ring holds bounceMinSample
 *   entries; a complaint spike is a complaint rate strictly above
 *   complaintThreshold, with no minimum sample. A spike sets a cooldown of
 *   bounceCooldownHours / complaintCooldownHours from now and clears the
 *   ring, so the same outcomes cannot trigger it again.
 *   A bounced / complained report that carries retryAfterMs is a verdict
 *   of the feedback loop (rates over the mailbox's sends in PostgreSQL, see
 *   core/webhooks/feedback-rules.ts): the mailbox cools down for that long
 *   whatever the ring says, and the ring is cleared.
 * - sender_misconfigured: pauses with reason 'sender_misconfigured'.
 *
 * Every outcome also prunes grants that can no longer affect a slot at or
 * after nowMs (see pruneGrants): outcomes arrive with every send, which keeps
 * the state at about one local day of grants plus future reservations.
 * nowMs is the workflow's current time; an older time is safe (it only keeps
 * more), a later one is not.
 */
import { resolveCooldown } from './defaults';
import { pruneGrants } from './grants';
import { HOUR_MS } from './time-zone';
import type { MailboxPolicySettings, Outcome, OutcomeResult, PolicyState, RecentOutcome } from './types';

export const SENDER_MISCONFIGURED = 'sender_misconfigured';

function extendCooldown(current: number | null, until: number): number {
  return current === null ? until : Math.max(current, until);
}

/** Throttle cooldown in ms for the current streak (before it is incremented). */
export function throttleDelayMs(baseSeconds: number, maxSeconds: number, streak: number): number {
  const seconds = Math.min(maxSeconds, baseSeconds * Math.pow(2, Math.max(0, Math.min(streak, 60))));
  return Math.max(0, seconds) * 1000;
}

export function applyOutcome(
  settings: MailboxPolicySettings,
  state: PolicyState,
  outcome: Outcome,
  nowMs: number,
  detail?: { retryAfterMs?: number },
): OutcomeResult {
  const cfg = resolveCooldown(settings.cooldown);
  const next: PolicyState = pruneGrants(settings, state, nowMs);
  switch (outcome) {
    case 'sent':
    case 'delivered': {
      next.throttleStreak = 0;
      if (outcome === 'sent') pushOutcome(next, 'ok', cfg.bounceWindow);
      return { state: next, cooled: false, paused: false };
    }
    case 'throttled': {
      // The provider's own hint (Retry-After, X-RateLimit-Reset) wins: it knows when its limit resets.
      // A floor that doubles with each repeat (1 s, 2 s, 4 s… up to the max) keeps a provider that keeps
      // saying "retry now" from becoming a hot loop. Without a hint: the default backoff.
      const retryAfter = detail?.retryAfterMs;
      const hinted = retryAfter !== undefined && Number.isFinite(retryAfter) && retryAfter >= 0;
      const delay = hinted
        ? Math.max(retryAfter, throttleDelayMs(1, cfg.throttleMaxSeconds, state.throttleStreak))
        : throttleDelayMs(cfg.throttleBaseSeconds, cfg.throttleMaxSeconds, state.throttleStreak);
      next.cooldownUntil = extendCooldown(state.cooldownUntil, nowMs + delay);
      next.throttleStreak = state.throttleStreak + 1;
      return { state: next, cooled: true, paused: false };
    }
    case 'bounced':
    case 'complained': {
      pushOutcome(next, outcome, cfg.bounceWindow);
      const ring = next.recentOutcomes;
      const bounces = ring.filter((o) => o === 'bounced').length;
      const complaints = ring.filter((o) => o === 'complained').length;
      let until: number | null = null;
      const verdict = detail?.retryAfterMs;
      if (verdict !== undefined && Number.isFinite(verdict) && verdict > 0) until = nowMs + verdict;
      if (ring.length >= cfg.bounceMinSample && bounces / ring.length > cfg.bounceThreshold) {
        until = Math.max(until ?? 0, nowMs + cfg.bounceCooldownHours * HOUR_MS);
      }
      if (complaints > 0 && complaints / ring.length > cfg.complaintThreshold) {
        until = Math.max(until ?? 0, nowMs + cfg.complaintCooldownHours * HOUR_MS);
      }
      if (until === null) return { state: next, cooled: false, paused: false };
      next.cooldownUntil = extendCooldown(state.cooldownUntil, until);
      next.recentOutcomes = [];
      return { state: next, cooled: true, paused: false };
    }
    case 'sender_misconfigured': {
      next.paused = true;
      next.pauseReason = SENDER_MISCONFIGURED;
      return { state: next, cooled: false, paused: true };
    }
    default: {
      const unknown: never = outcome;
      throw new RangeError(`applyOutcome: unknown outcome '${String(unknown)}'`);
    }
  }
}

function pushOutcome(state: PolicyState, outcome: RecentOutcome, size: number): void {
  state.recentOutcomes.push(outcome);
  const keep = Math.max(1, Math.floor(size));
  if (state.recentOutcomes.length > keep) state.recentOutcomes = state.recentOutcomes.slice(-keep);
}
