/**
 * The one mailbox reputation rule, pure (no Temporal imports, no clock, no
 * I/O). Every path that learns of a bounce or a complaint (provider
 * webhooks, DSNs, a permanent rejection at send time) and the 15-minute
 * reputation controller ask `judgeMailbox` about the same sample of the
 * mailbox's sends; the mailbox workflow applies the verdict it is told.
 *
 * A rate breaches its maximum when the lower bound of its Wilson score
 * interval (one-sided, at `confidence`) is strictly above the maximum: the
 * mailbox is judged as soon as the evidence is strong enough, with no fixed
 * sample size. At the defaults (2 % bounces, 95 %) 3 bounces in one day's
 * 50 sends breach (6 %, bound 2.4 %) and 2 do not (4 %, bound 1.3 %); over a
 * week's 350 sends at 4 % (14 bounces) the bound passes 2 % too. Small
 * samples need proportionally more evidence, and `minBounces` /
 * `minComplaints` keep a single event from judging a mailbox alone (one bad
 * address is a list problem, which its suppression already handles).
 */

export interface MailboxRuleSettings {
  /** A bounce rate (hard bounces over sends) confidently above this breaches. */
  bounceMax: number;
  /** A complaint rate confidently above this breaches. */
  complaintMax: number;
  /** One-sided confidence of the lower bound, in (0.5, 1): 0.95 uses z = 1.645. */
  confidence: number;
  /** No bounce verdict on fewer hard bounces than this. */
  minBounces: number;
  /** No complaint verdict on fewer complaints than this. */
  minComplaints: number;
  /** The sample: the mailbox's sends over this window (since its last verdict or return from rest). */
  windowMs: number;
  /** How long a bounce breach cools the mailbox down (the feedback path's verdict; 0: an alert only). */
  bounceCooldownMs: number;
  /** How long a complaint breach cools it down. */
  complaintCooldownMs: number;
}

const HOUR_MS = 3_600_000;

export const DEFAULT_MAILBOX_RULE: Readonly<MailboxRuleSettings> = Object.freeze({
  bounceMax: 0.02,
  complaintMax: 0.001,
  confidence: 0.95,
  minBounces: 2,
  minComplaints: 1,
  windowMs: 168 * HOUR_MS,
  bounceCooldownMs: 12 * HOUR_MS,
  complaintCooldownMs: 24 * HOUR_MS,
});

/** A mailbox's sends that went out in the sample, and how many hard-bounced or drew a complaint. */
export interface MailboxSample {
  sends: number;
  bounced: number;
  complained: number;
}

export type RateSignal = 'bounce' | 'complaint';

export interface RateJudgement {
  signal: RateSignal;
  /** Bounces (or complaints) in the sample. */
  events: number;
  /** Sends in the sample (never fewer than the events). */
  sends: number;
  /** events / sends; 0 on an empty sample. */
  rate: number;
  /** Lower bound of the Wilson score interval at the rule's confidence. */
  lowerBound: number;
  max: number;
  breached: boolean;
}

export interface MailboxJudgement {
  bounce: RateJudgement;
  complaint: RateJudgement;
  /** The breached rates, complaints first (the graver signal); empty when the mailbox is healthy. */
  breaches: RateJudgement[];
  /** The longest cooldown among the breaches; 0 when none. */
  cooldownMs: number;
}

const count = (n: number) => (Number.isFinite(n) && n > 0 ? Math.floor(n) : 0);

/**
 * The standard normal quantile (inverse CDF) for p in (0, 1), by Acklam's
 * rational approximation (relative error under 1.2e-9): z(0.95) = 1.6449,
 * z(0.975) = 1.9600.
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: p must be in (0, 1), got ${p}`);
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  if (p <= 1 - low) {
    const q = p - 0.5;
    const r = q * q;
    return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
      (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
  }
  const q = Math.sqrt(-2 * Math.log(1 - p));
  return -(((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
}

/**
 * Lower bound of the Wilson score interval for `events` successes in
 * `trials`, at normal quantile z: 0 on an empty sample or no events.
 */
export function wilsonLowerBound(events: number, trials: number, z: number): number {
  const n = count(trials);
  const k = Math.min(count(events), n);
  if (n === 0 || k === 0) return 0;
  const p = k / n;
  const z2 = z * z;
  const centre = p + z2 / (2 * n);
  const spread = z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return Math.max(0, (centre - spread) / (1 + z2 / n));
}

function judgeRate(signal: RateSignal, events: number, sends: number, max: number, minEvents: number, z: number): RateJudgement {
  const k = count(events);
  const n = Math.max(count(sends), k); // a sample never holds fewer sends than the events counted in it
  const rate = n === 0 ? 0 : k / n;
  const lowerBound = wilsonLowerBound(k, n, z);
  return { signal, events: k, sends: n, rate, lowerBound, max, breached: k > 0 && k >= minEvents && lowerBound > max };
}

/** Judges a mailbox's sample: which rates breach, and how long to cool it down. */
export function judgeMailbox(sample: MailboxSample, s: MailboxRuleSettings): MailboxJudgement {
  const z = normalQuantile(s.confidence);
  const sends = Math.max(count(sample.sends), count(sample.bounced) + count(sample.complained));
  const bounce = judgeRate('bounce', sample.bounced, sends, s.bounceMax, s.minBounces, z);
  const complaint = judgeRate('complaint', sample.complained, sends, s.complaintMax, s.minComplaints, z);
  const breaches = [complaint, bounce].filter((j) => j.breached);
  const cooldownMs = Math.max(0, ...breaches.map((j) => (j.signal === 'bounce' ? s.bounceCooldownMs : s.complaintCooldownMs)));
  return { bounce, complaint, breaches, cooldownMs };
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

/**
 * What an alert says about a breach: the rate, the sample it was taken on,
 * its lower bound against the maximum. `mailbox <id>: bounce rate 6.00%
 * (3 of 50 sends; lower bound 2.43% at 95%) is above 2.00%`.
 */
export function describeBreach(j: RateJudgement, confidence: number): string {
  const noun = j.signal === 'bounce' ? 'bounce' : 'complaint';
  return `${noun} rate ${pct(j.rate)} (${j.events} of ${j.sends} sends; lower bound ${pct(j.lowerBound)} at ${Math.round(confidence * 1000) / 10}%) is above ${pct(j.max)}`;
}

/** Errors naming the setting, for config checks and tests. */
export function validateMailboxRule(s: MailboxRuleSettings): string[] {
  const errors: string[] = [];
  for (const k of ['bounceMax', 'complaintMax'] as const) if (!(s[k] >= 0 && s[k] <= 1)) errors.push(`${k} must be between 0 and 1`);
  if (!(s.confidence > 0.5 && s.confidence < 1)) errors.push('confidence must be over 0.5 and under 1');
  for (const k of ['minBounces', 'minComplaints'] as const) if (!(Number.isInteger(s[k]) && s[k] >= 1)) errors.push(`${k} must be a whole number of at least 1`);
  if (!(Number.isFinite(s.windowMs) && s.windowMs > 0)) errors.push('windowMs must be positive');
  for (const k of ['bounceCooldownMs', 'complaintCooldownMs'] as const) if (!(Number.isFinite(s[k]) && s[k] >= 0)) errors.push(`${k} must not be negative`);
  return errors;
}
