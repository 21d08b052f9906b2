/**
 * Cooldowns and pauses driven by send outcomes.
 *
 * - throttled: cooldown of min(throttleMax, throttleBase * 2^streak) seconds
 *   (300, 600, 1200, ... capped), or the provider's Retry-After when longer;
 *   the streak then grows by one. An existing later cooldown is kept.
 * - sent / delivered: reset the throttle streak.
 * - bounced / complained: the mailbox judges nothing itself. A report that
 *   carries retryAfterMs carries the verdict of the one reputation rule
 *   (./mailbox-reputation.ts, asked by whoever recorded the bounce or
 *   complaint): the mailbox cools down for that long (never shortening a
 *   later cooldown). Without one, nothing changes.
 *   With `legacyRing` (only while replaying histories recorded before the
 *   one reputation rule, see ./legacy-ring.ts) the old ring of recent
 *   outcomes is kept and judged as it was.
 * - sender_misconfigured: adds the pause reason 'misconfigured' (./pauses.ts;
 *   a state from before pause reasons is paused with reason
 *   'sender_misconfigured').
 *
 * Every outcome also prunes grants that can no longer affect a slot at or
 * after nowMs (see pruneGrants): outcomes arrive with every send, which keeps
 * the state at about one local day of grants plus future reservations.
 * nowMs is the workflow's current time; an older time is safe (it only keeps
 * more), a later one is not.
 */
import { resolveCooldown } from './defaults';
import { pruneGrants } from './grants';
import { legacyRingCooldown, pushLegacyOutcome } from './legacy-ring';
import { addPause, SENDER_MISCONFIGURED } from './pauses';
import type { MailboxPolicySettings, Outcome, OutcomeResult, PolicyState } from './types';

export { SENDER_MISCONFIGURED };

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
  detail?: { retryAfterMs?: number; legacyRing?: boolean },
): OutcomeResult {
  const cfg = resolveCooldown(settings.cooldown);
  const next: PolicyState = pruneGrants(settings, state, nowMs);
  switch (outcome) {
    case 'sent':
    case 'delivered': {
      next.throttleStreak = 0;
      if (outcome === 'sent' && detail?.legacyRing) pushLegacyOutcome(next, 'ok', cfg.bounceWindow);
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
      let until: number | null = null;
      const verdict = detail?.retryAfterMs;
      if (verdict !== undefined && Number.isFinite(verdict) && verdict > 0) until = nowMs + verdict;
      if (detail?.legacyRing) {
        const ring = legacyRingCooldown(cfg, next, outcome, nowMs);
        if (ring !== null) until = Math.max(until ?? 0, ring);
      } else {
        next.recentOutcomes = [];
      }
      if (until === null) return { state: next, cooled: false, paused: false };
      next.cooldownUntil = extendCooldown(state.cooldownUntil, until);
      next.recentOutcomes = [];
      return { state: next, cooled: true, paused: false };
    }
    case 'sender_misconfigured': {
      const paused = addPause(next, { kind: 'misconfigured', reason: SENDER_MISCONFIGURED, since: nowMs, until: null });
      return { state: paused, cooled: false, paused: true };
    }
    default: {
      const unknown: never = outcome;
      throw new RangeError(`applyOutcome: unknown outcome '${String(unknown)}'`);
    }
  }
}
