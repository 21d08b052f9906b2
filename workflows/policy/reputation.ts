/**
 * Reputation controller decisions: pure functions over the rates the
 * controller's activity measured (no Temporal imports, no clock, no I/O;
 * `now` is a parameter). The reputation workflow asks `decideReputation` and
 * hands the decisions to an activity that carries them out.
 *
 * Rules:
 * - mailbox: the one reputation rule (./mailbox-reputation.ts) finds its
 *   bounce or complaint rate over its maximum on its sample (its sends since
 *   its last verdict or return from rest) → rest it (pause) for
 *   `mailboxRestMs`; a rest whose time has passed → resume. The feedback
 *   path judges the same sample on every bounce and complaint and cools the
 *   mailbox down at once; the controller catches what that could not act on.
 * - sending domain, on at least `domainMinSample` sends: delivery rate
 *   strictly under `domainDeliveryMin` (95%) → out of rotation; its active
 *   mailboxes rest until it is back (the activity rests them with it).
 * - provider account, on at least `providerMinAttempts`: failure rate at or
 *   above `providerFailureRate` (10%) with a closed breaker → open the
 *   breaker (mailboxes fail over to their next provider; the breaker's own
 *   probe brings traffic back).
 */

import { DEFAULT_MAILBOX_RULE, describeBreach, judgeMailbox, validateMailboxRule, type MailboxRuleSettings } from './mailbox-reputation';

export interface ReputationSettings {
  /** Domain delivery rates are measured over this window (mailboxes over mailboxRule.windowMs). */
  windowMs: number;
  /** Provider failure rates are measured over this (shorter) window. */
  providerWindowMs: number;
  /** Rest (pause) length of a mailbox the rule finds over its bounce or complaint maximum. */
  mailboxRestMs: number;
  /** The one reputation rule's settings (the feedback path uses the same). */
  mailboxRule: MailboxRuleSettings;
  /** A domain under this delivery rate leaves rotation. */
  domainDeliveryMin: number;
  domainMinSample: number;
  /** A provider account at or over this failure rate is switched away from. */
  providerFailureRate: number;
  providerMinAttempts: number;
}

export const DEFAULT_REPUTATION: Readonly<ReputationSettings> = Object.freeze({
  windowMs: 24 * 60 * 60_000,
  providerWindowMs: 15 * 60_000,
  mailboxRestMs: 24 * 60 * 60_000,
  mailboxRule: DEFAULT_MAILBOX_RULE,
  domainDeliveryMin: 0.95,
  domainMinSample: 100,
  providerFailureRate: 0.1,
  providerMinAttempts: 20,
});

/** Sends counted over the window: every send that left (sent, delivered, bounced, complained) or failed. */
export interface SendCounts {
  sends: number;
  bounced: number;
  complained: number;
  failed: number;
}

/** A mailbox's sample for the rule: its sends since its last verdict or return from rest, within the rule's window. */
export interface MailboxStats {
  mailboxId: string;
  sends: number;
  bounced: number;
  complained: number;
  clientId: string | null;
  status: 'active' | 'paused' | 'disabled';
  /** The open rest the controller put it on, if any (restUntil null: until its domain is back). */
  rest: { reason: string; restUntil: number | null } | null;
}

export interface DomainStats extends SendCounts {
  domainId: string;
  clientId: string | null;
  inRotation: boolean;
}

export interface ProviderStats {
  accountId: string;
  attempts: number;
  failures: number;
  breaker: 'closed' | 'open' | 'half_open';
}

export interface ReputationSnapshot {
  mailboxes: MailboxStats[];
  domains: DomainStats[];
  providers: ProviderStats[];
}

export type ReputationDecision =
  | { kind: 'rest_mailbox'; mailboxId: string; clientId: string | null; restUntil: number | null; reason: string }
  | { kind: 'resume_mailbox'; mailboxId: string; clientId: string | null; reason: string }
  | { kind: 'domain_out'; domainId: string; clientId: string | null; reason: string }
  | { kind: 'open_provider'; accountId: string; reason: string };

export interface Rates {
  delivery: number;
  bounce: number;
  complaint: number;
}

/** Rates over the counted sends; all zero (delivery 1) on an empty sample. */
export function ratesOf(c: SendCounts): Rates {
  if (c.sends <= 0) return { delivery: 1, bounce: 0, complaint: 0 };
  return {
    delivery: (c.sends - c.bounced - c.failed) / c.sends,
    bounce: c.bounced / c.sends,
    complaint: c.complained / c.sends,
  };
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

export function mailboxDecision(m: MailboxStats, s: ReputationSettings, now: number): ReputationDecision | null {
  if (m.rest) {
    if (m.rest.restUntil !== null && m.rest.restUntil <= now) {
      return { kind: 'resume_mailbox', mailboxId: m.mailboxId, clientId: m.clientId, reason: `rest (${m.rest.reason}) is over` };
    }
    return null; // resting: nothing more to decide
  }
  if (m.status !== 'active') return null;
  // A snapshot taken by an activity older than the rule carries no rule settings: the defaults judge it.
  const rule = s.mailboxRule ?? DEFAULT_MAILBOX_RULE;
  const verdict = judgeMailbox(m, rule);
  if (verdict.breaches.length === 0) return null;
  return {
    kind: 'rest_mailbox', mailboxId: m.mailboxId, clientId: m.clientId, restUntil: now + s.mailboxRestMs,
    reason: verdict.breaches.map((b) => describeBreach(b, rule.confidence)).join('; '),
  };
}

export function domainDecision(d: DomainStats, s: Pick<ReputationSettings, 'domainDeliveryMin' | 'domainMinSample'>): ReputationDecision | null {
  if (!d.inRotation || d.sends < s.domainMinSample) return null;
  const r = ratesOf(d);
  if (r.delivery >= s.domainDeliveryMin) return null;
  return {
    kind: 'domain_out', domainId: d.domainId, clientId: d.clientId,
    reason: `delivery rate ${pct(r.delivery)} over ${d.sends} sends (min ${pct(s.domainDeliveryMin)})`,
  };
}

export function providerDecision(p: ProviderStats, s: Pick<ReputationSettings, 'providerFailureRate' | 'providerMinAttempts'>): ReputationDecision | null {
  if (p.breaker !== 'closed' || p.attempts < s.providerMinAttempts || p.attempts <= 0) return null;
  const rate = p.failures / p.attempts;
  if (rate < s.providerFailureRate) return null;
  return {
    kind: 'open_provider', accountId: p.accountId,
    reason: `reputation controller: failure rate ${pct(rate)} over ${p.attempts} attempts (max ${pct(s.providerFailureRate)})`,
  };
}

/**
 * Every decision for one controller run: provider switches first, then
 * domains, then mailboxes. (The mailboxes of a domain leaving rotation are
 * rested by the activity that takes it out, in SQL: the snapshot carries
 * only mailboxes with a verdict to give, to stay small at 10,000 mailboxes.)
 */
export function decideReputation(snap: ReputationSnapshot, s: ReputationSettings, now: number): ReputationDecision[] {
  const out: ReputationDecision[] = [];
  for (const p of snap.providers) {
    const d = providerDecision(p, s);
    if (d) out.push(d);
  }
  for (const dom of snap.domains) {
    const d = domainDecision(dom, s);
    if (d) out.push(d);
  }
  for (const m of snap.mailboxes) {
    const d = mailboxDecision(m, s, now);
    if (d) out.push(d);
  }
  return out;
}

/** Errors naming the setting, for config checks and tests. */
export function validateReputationSettings(s: ReputationSettings): string[] {
  const errors: string[] = [];
  const fractions = ['domainDeliveryMin', 'providerFailureRate'] as const;
  for (const k of fractions) if (!(s[k] >= 0 && s[k] <= 1)) errors.push(`${k} must be between 0 and 1`);
  const positives = ['windowMs', 'providerWindowMs', 'mailboxRestMs', 'domainMinSample', 'providerMinAttempts'] as const;
  for (const k of positives) if (!(Number.isFinite(s[k]) && s[k] > 0)) errors.push(`${k} must be positive`);
  for (const e of validateMailboxRule(s.mailboxRule)) errors.push(`mailboxRule.${e}`);
  return errors;
}
