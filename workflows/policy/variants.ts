/**
 * A/B variants of a campaign step: which variant a lead gets, and when a
 * winner rule picks the best one. Pure: no clock, no randomness, no I/O; the
 * send activity gives them stored data only, so a retry, a new worker or a
 * workflow that continued as new computes the same answer.
 */

export interface WeightedVariant {
  templateId: string;
  /** A positive integer: the variant's share is weight / (sum of the step's weights). */
  weight: number;
}

/** 32-bit FNV-1a over the UTF-16 code units, finished with murmur3's fmix32 (so the low bits spread too). */
export function stableHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The variant (index into `variants`) of a lead's step: the hash of
 * "<leadId>:<step>" placed on the weights laid end to end, in the step's
 * order. The same lead and step always get the same variant; over many
 * leads each variant's share tends to its weight's share.
 */
export function assignVariant(leadId: string, step: number, variants: readonly WeightedVariant[]): number {
  if (variants.length === 0) throw new RangeError('a step needs at least one variant');
  const weights = variants.map((v) => {
    if (!Number.isInteger(v.weight) || v.weight < 1) throw new RangeError(`variant weight must be a positive integer (got ${v.weight})`);
    return v.weight;
  });
  const total = weights.reduce((a, b) => a + b, 0);
  let point = stableHash(`${leadId}:${step}`) % total;
  for (const [i, w] of weights.entries()) {
    if (point < w) return i;
    point -= w;
  }
  return weights.length - 1; // unreachable: point < total
}

/** What one variant has so far: its sends that went out, and how many of those were replied to. */
export interface VariantTally {
  templateId: string;
  sent: number;
  replied: number;
}

export interface WinnerRuleInput {
  metric: 'reply_rate';
  /** Sends every variant needs before a winner is picked. */
  after: number;
}

export type WinnerVerdict =
  /** Not yet: some variant has fewer than `after` sends (the lead gets its hashed variant). */
  | { kind: 'wait'; reason: string }
  /** The step's remaining leads get `templateId` from now on. */
  | { kind: 'winner'; templateId: string; reason: string; tallies: (VariantTally & { rate: number })[] };

/**
 * The winner rule:
 * - Too few sends: while any listed variant has fewer than `after` sends
 *   (a variant with no tally has none), there is no winner.
 * - Then the variant with the highest reply rate (replied / sent, compared
 *   exactly, as fractions) wins.
 * - A tie (equal rates, zero replies everywhere included) goes to the tied
 *   variant listed first in the step.
 * Tallies of templates that are not variants of the step are ignored. The
 * caller records the first winner and keeps it: the decision is final.
 */
export function decideWinner(variants: readonly { templateId: string }[], tallies: readonly VariantTally[], rule: WinnerRuleInput): WinnerVerdict {
  if (variants.length === 0) throw new RangeError('a step needs at least one variant');
  if (!Number.isInteger(rule.after) || rule.after < 1) throw new RangeError(`after must be a positive integer (got ${rule.after})`);
  const byId = new Map(tallies.map((t) => [t.templateId, t]));
  const rows = variants.map((v) => byId.get(v.templateId) ?? { templateId: v.templateId, sent: 0, replied: 0 });
  const short = rows.filter((r) => r.sent < rule.after);
  if (short.length) {
    return { kind: 'wait', reason: `too few sends: ${short.map((r) => `${r.templateId} has ${r.sent} of ${rule.after}`).join(', ')}` };
  }
  let best = rows[0]!;
  for (const r of rows.slice(1)) {
    // r beats best when r.replied / r.sent > best.replied / best.sent (both sent >= after >= 1).
    if (r.replied * best.sent > best.replied * r.sent) best = r;
  }
  const tied = rows.filter((r) => r !== best && r.replied * best.sent === best.replied * r.sent);
  const rate = (r: VariantTally) => r.replied / r.sent;
  return {
    kind: 'winner',
    templateId: best.templateId,
    reason: `best reply rate ${rate(best).toFixed(4)} after ${rule.after} sends per variant` + (tied.length ? ` (tied with ${tied.length}; listed first wins)` : ''),
    tallies: rows.map((r) => ({ ...r, rate: rate(r) })),
  };
}
