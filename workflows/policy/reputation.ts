/**
 * Reputation controller decisions: pure functions over the rates the
 * controller's activity measured (no Temporal imports, no clock, no I/O;
 * `now` is a parameter). The reputation workflow asks `decideReputation` and
 * hands the decisions to an activity that carries them out.
 *
 * Rules (each needs a minimum sample before it says anything):
 * - mailbox: bounce rate or complaint rate strictly above its threshold →
 *   rest it (pause) for `mailboxRestMs`; a rest whose time has passed → resume.
 * - sending domain: delivery rate strictly under `domainDeliveryMin` (95%) →
 *   out of rotation; its active mailboxes rest until it is back (the
 *   activity rests them with it).
 * - provider account: failure rate at or above `providerFailureRate` (10%)
 *   with a closed breaker → open the breaker (mailboxes fail over to their
 *   next provider; the breaker's own probe brings traffic back).
 */

export interface ReputationSettings {
  /** Send rates (mailboxes, domains) are measured over this window. */
  windowMs: number;
  /** Provider failure rates are measured over this (shorter) window. */
  providerWindowMs: number;
  /** Rest (pause) length of a mailbox over its bounce or complaint threshold. */
  mailboxRestMs: number;
  mailboxBounceMax: number;
  mailboxComplaintMax: number;
  /** No mailbox verdict on fewer sends than this. */
  mailboxMinSample: number;
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
  mailboxBounceMax: 0.02,
  mailboxComplaintMax: 0.001,
  mailboxMinSample: 100,
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

export interface MailboxStats extends SendCounts {
  mailboxId: string;
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
  if (m.status !== 'active' || m.sends < s.mailboxMinSample) return null;
  const r = ratesOf(m);
  const restUntil = now + s.mailboxRestMs;
  if (r.complaint > s.mailboxComplaintMax) {
    return {
      kind: 'rest_mailbox', mailboxId: m.mailboxId, clientId: m.clientId, restUntil,
      reason: `complaint rate ${pct(r.complaint)} over ${m.sends} sends (max ${pct(s.mailboxComplaintMax)})`,
    };
  }
  if (r.bounce > s.mailboxBounceMax) {
    return {
      kind: 'rest_mailbox', mailboxId: m.mailboxId, clientId: m.clientId, restUntil,
      reason: `bounce rate ${pct(r.bounce)} over ${m.sends} sends (max ${pct(s.mailboxBounceMax)})`,
    };
  }
  return null;
}

export function domainDecision(d: DomainStats, s: ReputationSettings): ReputationDecision | null {
  if (!d.inRotation || d.sends < s.domainMinSample) return null;
  const r = ratesOf(d);
  if (r.delivery >= s.domainDeliveryMin) return null;
  return {
    kind: 'domain_out', domainId: d.domainId, clientId: d.clientId,
    reason: `delivery rate ${pct(r.delivery)} over ${d.sends} sends (min ${pct(s.domainDeliveryMin)})`,
  };
}

export function providerDecision(p: ProviderStats, s: ReputationSettings): ReputationDecision | null {
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
  const fractions: (keyof ReputationSettings)[] = ['mailboxBounceMax', 'mailboxComplaintMax', 'domainDeliveryMin', 'providerFailureRate'];
  for (const k of fractions) if (!(s[k] >= 0 && s[k] <= 1)) errors.push(`${k} must be between 0 and 1`);
  const positives: (keyof ReputationSettings)[] = ['windowMs', 'providerWindowMs', 'mailboxRestMs', 'mailboxMinSample', 'domainMinSample', 'providerMinAttempts'];
  for (const k of positives) if (!(Number.isFinite(s[k]) && s[k] > 0)) errors.push(`${k} must be positive`);
  return errors;
}
