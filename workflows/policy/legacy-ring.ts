/**
 * The mailbox workflow's own bounce rule from before the one reputation rule
 * (./mailbox-reputation.ts): a ring of its last `bounceWindow` outcomes that
 * cooled the mailbox down on a burst of bounces or on any complaint, with no
 * alert. Kept ONLY so histories recorded before the `one-reputation-rule`
 * patch replay as they ran (workflows/mailbox.workflow.ts asks for it when
 * `patched()` says false, which happens only while replaying such a history);
 * no run that reaches the patch ever judges with it.
 *
 * - 'sent' adds an 'ok' to the ring ('delivered' does not: it reports on a mail already counted).
 * - 'bounced' / 'complained' are added to the ring; a bounce spike is a rate
 *   strictly above bounceThreshold once the ring holds bounceMinSample
 *   entries, a complaint spike a rate strictly above complaintThreshold. A
 *   spike cools down for bounceCooldownHours / complaintCooldownHours and
 *   clears the ring.
 */
import { HOUR_MS } from './time-zone';
import type { CooldownSettings, PolicyState, RecentOutcome } from './types';

export function pushLegacyOutcome(state: PolicyState, outcome: RecentOutcome, size: number): void {
  state.recentOutcomes.push(outcome);
  const keep = Math.max(1, Math.floor(size));
  if (state.recentOutcomes.length > keep) state.recentOutcomes = state.recentOutcomes.slice(-keep);
}

/** Adds the outcome to the ring; the end of the cooldown it calls for, or null. */
export function legacyRingCooldown(cfg: CooldownSettings, state: PolicyState, outcome: 'bounced' | 'complained', nowMs: number): number | null {
  pushLegacyOutcome(state, outcome, cfg.bounceWindow);
  const ring = state.recentOutcomes;
  const bounces = ring.filter((o) => o === 'bounced').length;
  const complaints = ring.filter((o) => o === 'complained').length;
  let until: number | null = null;
  if (ring.length >= cfg.bounceMinSample && bounces / ring.length > cfg.bounceThreshold) {
    until = nowMs + cfg.bounceCooldownHours * HOUR_MS;
  }
  if (complaints > 0 && complaints / ring.length > cfg.complaintThreshold) {
    until = Math.max(until ?? 0, nowMs + cfg.complaintCooldownHours * HOUR_MS);
  }
  return until;
}
