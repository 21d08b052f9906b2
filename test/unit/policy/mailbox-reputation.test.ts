import {
  DEFAULT_MAILBOX_RULE,
  describeBreach,
  judgeMailbox,
  normalQuantile,
  validateMailboxRule,
  wilsonLowerBound,
  type MailboxRuleSettings,
} from '../../../workflows/policy/mailbox-reputation';
import { configSchema } from '../../../core/config';
import * as feedbackRules from '../../../core/webhooks/feedback-rules';
import { DEFAULT_REPUTATION, mailboxDecision } from '../../../workflows/policy/reputation';

const R: MailboxRuleSettings = { ...DEFAULT_MAILBOX_RULE };
const HOUR = 3_600_000;
const Z95 = normalQuantile(0.95);
const sample = (sends: number, bounced = 0, complained = 0) => ({ sends, bounced, complained });
const breached = (sends: number, bounced = 0, complained = 0, rule: MailboxRuleSettings = R) =>
  judgeMailbox(sample(sends, bounced, complained), rule).breaches.map((b) => b.signal);

describe('normalQuantile', () => {
  it('gives the standard normal quantiles', () => {
    expect(normalQuantile(0.5)).toBeCloseTo(0, 9);
    expect(normalQuantile(0.9)).toBeCloseTo(1.2815516, 6);
    expect(normalQuantile(0.95)).toBeCloseTo(1.6448536, 6);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 6);
    expect(normalQuantile(0.99)).toBeCloseTo(2.3263479, 6);
    expect(normalQuantile(0.999)).toBeCloseTo(3.0902323, 6);
    expect(normalQuantile(0.01)).toBeCloseTo(-2.3263479, 6);
  });
  it('is symmetric and increasing', () => {
    let last = -Infinity;
    for (let p = 0.001; p < 1; p += 0.001) {
      const z = normalQuantile(p);
      expect(z).toBeGreaterThan(last);
      expect(z).toBeCloseTo(-normalQuantile(1 - p), 7);
      last = z;
    }
  });
  it('refuses probabilities outside (0, 1)', () => {
    for (const p of [0, 1, -0.1, 1.5, Number.NaN]) expect(() => normalQuantile(p)).toThrow(RangeError);
  });
});

describe('wilsonLowerBound', () => {
  it('is 0 on an empty sample or without events', () => {
    expect(wilsonLowerBound(0, 0, Z95)).toBe(0);
    expect(wilsonLowerBound(0, 500, Z95)).toBe(0);
    expect(wilsonLowerBound(3, 0, Z95)).toBe(0);
  });
  it('matches the textbook values', () => {
    expect(wilsonLowerBound(3, 50, Z95)).toBeCloseTo(0.02423, 5);
    expect(wilsonLowerBound(2, 50, Z95)).toBeCloseTo(0.01333, 5);
    expect(wilsonLowerBound(1, 1, Z95)).toBeCloseTo(1 / (1 + Z95 * Z95), 9); // all of one: 27%
    expect(wilsonLowerBound(50, 50, Z95)).toBeCloseTo(0.94867, 5);
  });
  it('stays under the observed rate, grows with the events and nears the rate as the sample grows', () => {
    for (const n of [1, 2, 5, 10, 50, 100, 350, 1000]) {
      let last = -1;
      for (let k = 0; k <= n; k += Math.max(1, Math.floor(n / 25))) {
        const lb = wilsonLowerBound(k, n, Z95);
        expect(lb).toBeGreaterThanOrEqual(0);
        expect(lb).toBeLessThanOrEqual(k / n);
        expect(lb).toBeGreaterThan(last);
        last = lb;
      }
    }
    const gaps = [100, 1000, 10_000, 100_000].map((n) => 0.04 - wilsonLowerBound(0.04 * n, n, Z95));
    for (let i = 1; i < gaps.length; i++) expect(gaps[i]!).toBeLessThan(gaps[i - 1]!);
    expect(gaps[gaps.length - 1]!).toBeLessThan(0.002);
  });
  it('counts no more events than trials, and nothing negative or not a number', () => {
    expect(wilsonLowerBound(9, 3, Z95)).toBe(wilsonLowerBound(3, 3, Z95));
    expect(wilsonLowerBound(-2, 10, Z95)).toBe(0);
    expect(wilsonLowerBound(Number.NaN, 10, Z95)).toBe(0);
    expect(wilsonLowerBound(2, Number.POSITIVE_INFINITY, Z95)).toBe(0);
  });
});

describe('judgeMailbox (defaults: 2% bounces, 0.1% complaints, 95%, at least 2 bounces / 1 complaint)', () => {
  it('judges nothing on 0 sends', () => {
    const j = judgeMailbox(sample(0), R);
    expect(j).toMatchObject({ breaches: [], cooldownMs: 0 });
    expect(j.bounce).toMatchObject({ events: 0, sends: 0, rate: 0, lowerBound: 0, breached: false });
    expect(j.complaint).toMatchObject({ events: 0, sends: 0, rate: 0, lowerBound: 0, breached: false });
  });

  it('at 50 a day: 3 bounces in a day breach, 2 do not', () => {
    expect(breached(50, 3)).toEqual(['bounce']);
    expect(breached(50, 2)).toEqual([]);
    const j = judgeMailbox(sample(50, 3), R);
    expect(j.bounce).toMatchObject({ events: 3, sends: 50, rate: 0.06, max: 0.02, breached: true });
    expect(j.bounce.lowerBound).toBeCloseTo(0.02423, 5);
    expect(j.cooldownMs).toBe(12 * HOUR);
  });

  it('needs no fixed sample: the evidence a breach needs falls as the sample grows', () => {
    // The largest sample on which k bounces still breach 2%.
    const largest = (k: number) => {
      let n = k;
      while (judgeMailbox(sample(n + 1, k), R).bounce.breached) n++;
      return n;
    };
    expect(largest(2)).toBe(33);
    expect(largest(3)).toBe(60);
    expect(breached(100, 5)).toEqual(['bounce']);
    expect(breached(100, 4)).toEqual([]);
    // A week at 50 a day, 4% bounces: the bound passes 2% (2.6%).
    expect(breached(350, 14)).toEqual(['bounce']);
  });

  it('never breaches on a rate at its maximum, however large the sample', () => {
    for (const n of [50, 100, 1000, 100_000]) expect(breached(n, 0.02 * n)).toEqual([]);
    expect(breached(1000, 30)).toEqual(['bounce']); // 3%: clear of it on a large sample
  });

  it('all bounced: breaches from the minimum number of bounces up', () => {
    expect(breached(1, 1)).toEqual([]); // one bad address is a list problem, not the mailbox's
    for (const n of [2, 3, 10, 50, 500]) expect(breached(n, n)).toEqual(['bounce']);
    expect(judgeMailbox(sample(50, 50), R).bounce.rate).toBe(1);
  });

  it('one complaint breaches 0.1% on up to 223 sends', () => {
    expect(breached(223, 0, 1)).toEqual(['complaint']);
    expect(breached(224, 0, 1)).toEqual([]);
    expect(breached(1, 0, 1)).toEqual(['complaint']);
    expect(judgeMailbox(sample(100, 0, 1), R).cooldownMs).toBe(24 * HOUR);
  });

  it('puts complaints first and cools for the longest breach', () => {
    const j = judgeMailbox(sample(50, 5, 1), R);
    expect(j.breaches.map((b) => b.signal)).toEqual(['complaint', 'bounce']);
    expect(j.cooldownMs).toBe(24 * HOUR);
  });

  it('follows its settings: thresholds, confidence, minimum events, cooldowns', () => {
    expect(breached(50, 3, 0, { ...R, bounceMax: 0.03 })).toEqual([]);
    expect(breached(50, 2, 0, { ...R, bounceMax: 0.01 })).toEqual(['bounce']);
    expect(breached(50, 3, 0, { ...R, confidence: 0.99 })).toEqual([]); // bound 1.7% at 99%
    expect(breached(50, 4, 0, { ...R, confidence: 0.99 })).toEqual(['bounce']);
    expect(breached(1, 1, 0, { ...R, minBounces: 1 })).toEqual(['bounce']);
    expect(breached(50, 3, 0, { ...R, minBounces: 4 })).toEqual([]);
    expect(breached(1, 0, 1, { ...R, minComplaints: 2 })).toEqual([]);
    expect(breached(10, 1, 0, { ...R, bounceMax: 0, minBounces: 1 })).toEqual(['bounce']); // any bounce breaches 0%
    expect(breached(10, 10, 10, { ...R, bounceMax: 1, complaintMax: 1 })).toEqual([]); // nothing breaches 100%
    expect(judgeMailbox(sample(50, 3), { ...R, bounceCooldownMs: 2 * HOUR }).cooldownMs).toBe(2 * HOUR);
  });

  it('reads a malformed sample safely: more events than sends, negatives, fractions', () => {
    const j = judgeMailbox(sample(0, 3, 1), R);
    expect(j.bounce).toMatchObject({ events: 3, sends: 4, rate: 0.75 });
    expect(judgeMailbox(sample(-5, -1, Number.NaN), R)).toMatchObject({ breaches: [], cooldownMs: 0 });
    expect(judgeMailbox(sample(50.9, 3.7), R).bounce).toMatchObject({ events: 3, sends: 50 });
  });

  it('over a simulated week at 50 a day: a 1% list never breaches, a 6% list breaches on its first day', () => {
    const run = (bounceEvery: number) => {
      let bounced = 0;
      for (let sent = 1; sent <= 7 * 50; sent++) {
        if (sent % bounceEvery === 0) bounced++;
        if (judgeMailbox(sample(sent, bounced), R).breaches.length > 0) return sent;
      }
      return null;
    };
    expect(run(100)).toBeNull();
    const first = run(16); // one in 16 ≈ 6%: 2 bounces in 32 sends
    expect(first).not.toBeNull();
    expect(first!).toBeLessThanOrEqual(50);
  });
});

describe('describeBreach', () => {
  it('names the rate, the sample and its bound against the maximum', () => {
    const j = judgeMailbox(sample(50, 3), R);
    expect(describeBreach(j.bounce, R.confidence)).toBe('bounce rate 6.00% (3 of 50 sends; lower bound 2.42% at 95%) is above 2.00%');
    const c = judgeMailbox(sample(200, 0, 1), R);
    expect(describeBreach(c.complaint, R.confidence)).toMatch(/^complaint rate 0\.50% \(1 of 200 sends; lower bound 0\.\d\d% at 95%\) is above 0\.10%$/);
  });
});

describe('validateMailboxRule', () => {
  it('accepts the defaults', () => {
    expect(validateMailboxRule(R)).toEqual([]);
  });
  it('names each bad setting', () => {
    expect(validateMailboxRule({ ...R, bounceMax: 2, complaintMax: -0.1, confidence: 0.5, minBounces: 0, minComplaints: 1.5, windowMs: 0, bounceCooldownMs: -1 })).toEqual([
      'bounceMax must be between 0 and 1',
      'complaintMax must be between 0 and 1',
      'confidence must be over 0.5 and under 1',
      'minBounces must be a whole number of at least 1',
      'minComplaints must be a whole number of at least 1',
      'windowMs must be positive',
      'bounceCooldownMs must not be negative',
    ]);
  });
  it('freezes the defaults', () => {
    expect(Object.isFrozen(DEFAULT_MAILBOX_RULE)).toBe(true);
  });
});

describe('one rule: the old ones are gone', () => {
  it('the webhook verdict, the controller threshold and their minimum samples no longer exist', () => {
    expect(Object.keys(feedbackRules)).not.toContain('assessMailboxRates');
    expect(Object.keys(DEFAULT_REPUTATION)).toEqual(expect.not.arrayContaining(['mailboxBounceMax', 'mailboxComplaintMax', 'mailboxMinSample']));
    expect(DEFAULT_REPUTATION.mailboxRule).toBe(DEFAULT_MAILBOX_RULE);
    expect(Object.keys(configSchema.shape)).toEqual(expect.not.arrayContaining(['MAILBOX_FEEDBACK_MIN_SAMPLE']));
  });
  it('the controller decides exactly what the rule says, on any sample', () => {
    const NOW = Date.UTC(2026, 0, 15);
    for (const n of [0, 1, 10, 50, 100, 350]) {
      for (const k of [0, 1, 2, 3, 5, 10]) {
        if (k > n) continue;
        const rests = mailboxDecision({ mailboxId: 'm', clientId: null, status: 'active', rest: null, sends: n, bounced: k, complained: 0 }, DEFAULT_REPUTATION, NOW)?.kind === 'rest_mailbox';
        expect({ n, k, rests }).toEqual({ n, k, rests: breached(n, k).length > 0 });
      }
    }
  });
});
