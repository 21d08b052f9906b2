import { randomUUID } from 'node:crypto';
import { assignVariant, decideWinner, stableHash, type VariantTally } from '../../../workflows/policy/variants';

const A = 'aaaaaaaa-0000-4000-8000-000000000001';
const B = 'bbbbbbbb-0000-4000-8000-000000000002';
const C = 'cccccccc-0000-4000-8000-000000000003';
const two = [{ templateId: A, weight: 1 }, { templateId: B, weight: 1 }];

describe('assignVariant: one variant per lead and step, by a stable hash', () => {
  it('is a pure function of (lead, step, variants): the same answer on every call, in any order', () => {
    const leads = Array.from({ length: 200 }, () => randomUUID());
    const first = leads.map((l) => assignVariant(l, 1, two));
    const again = [...leads].reverse().map((l) => assignVariant(l, 1, two)).reverse();
    expect(again).toEqual(first);
    // A fixed input has a fixed answer, release after release (a change of the hash would re-deal running campaigns' leads).
    expect(stableHash('lead-1:0')).toBe(4023358559);
    expect([0, 1, 2, 3].map((s) => assignVariant('0190f0e2-7b1c-7000-8000-000000000000', s, two))).toEqual([1, 1, 1, 0]);
  });

  it('follows the weights over many leads (1:3 gives about a quarter and three quarters)', () => {
    const counts = [0, 0];
    for (let i = 0; i < 20_000; i++) counts[assignVariant(randomUUID(), 0, [{ templateId: A, weight: 1 }, { templateId: B, weight: 3 }])]!++;
    expect(counts[0]! / 20_000).toBeGreaterThan(0.22);
    expect(counts[0]! / 20_000).toBeLessThan(0.28);
  });

  it('spreads equal weights evenly, and every one of five variants is used', () => {
    const five = [A, B, C, randomUUID(), randomUUID()].map((templateId) => ({ templateId, weight: 1 }));
    const counts = [0, 0, 0, 0, 0];
    for (let i = 0; i < 10_000; i++) counts[assignVariant(randomUUID(), 2, five)]!++;
    for (const n of counts) {
      expect(n).toBeGreaterThan(1_700);
      expect(n).toBeLessThan(2_300);
    }
  });

  it('the step is part of the key: a lead is not tied to the same variant index on every step', () => {
    const leads = Array.from({ length: 400 }, () => randomUUID());
    const differs = leads.filter((l) => assignVariant(l, 0, two) !== assignVariant(l, 1, two));
    expect(differs.length).toBeGreaterThan(100);
  });

  it('refuses no variants and weights that are not positive integers', () => {
    expect(() => assignVariant('l', 0, [])).toThrow(RangeError);
    expect(() => assignVariant('l', 0, [{ templateId: A, weight: 0 }, { templateId: B, weight: 1 }])).toThrow(RangeError);
    expect(() => assignVariant('l', 0, [{ templateId: A, weight: 1.5 }])).toThrow(RangeError);
  });
});

describe('decideWinner: reply rate after N sends per variant', () => {
  const rule = { metric: 'reply_rate' as const, after: 3 };
  const t = (templateId: string, sent: number, replied: number): VariantTally => ({ templateId, sent, replied });

  it('too few sends: no winner while any variant has fewer than N, however good another looks', () => {
    expect(decideWinner(two, [], rule)).toMatchObject({ kind: 'wait' });
    expect(decideWinner(two, [t(A, 100, 90), t(B, 2, 0)], rule)).toEqual({ kind: 'wait', reason: `too few sends: ${B} has 2 of 3` });
    // A variant with no sends at all has none.
    expect(decideWinner(two, [t(A, 3, 3)], rule)).toEqual({ kind: 'wait', reason: `too few sends: ${B} has 0 of 3` });
  });

  it('at exactly N sends each it decides: the best reply rate wins', () => {
    const v = decideWinner(two, [t(A, 3, 0), t(B, 3, 1)], rule);
    expect(v).toMatchObject({ kind: 'winner', templateId: B });
    if (v.kind !== 'winner') throw new Error('no winner');
    expect(v.tallies).toEqual([{ templateId: A, sent: 3, replied: 0, rate: 0 }, { templateId: B, sent: 3, replied: 1, rate: 1 / 3 }]);
  });

  it('compares rates, not counts: 2 of 4 beats 3 of 9', () => {
    expect(decideWinner(two, [t(A, 9, 3), t(B, 4, 2)], rule)).toMatchObject({ kind: 'winner', templateId: B });
    expect(decideWinner(two, [t(A, 4, 2), t(B, 9, 3)], rule)).toMatchObject({ kind: 'winner', templateId: A });
  });

  it('ties go to the tied variant listed first (zero replies everywhere is a tie)', () => {
    expect(decideWinner(two, [t(A, 3, 0), t(B, 3, 0)], rule)).toMatchObject({ kind: 'winner', templateId: A });
    expect(decideWinner(two, [t(B, 3, 0), t(A, 3, 0)], rule)).toMatchObject({ kind: 'winner', templateId: A });
    // Equal as fractions (1/3 and 2/6) is a tie, with no float rounding in the way.
    const three = [{ templateId: C }, { templateId: B }, { templateId: A }];
    const v = decideWinner(three, [t(A, 6, 2), t(B, 3, 1), t(C, 3, 0)], rule);
    expect(v).toMatchObject({ kind: 'winner', templateId: B });
    if (v.kind === 'winner') expect(v.reason).toContain('tied with 1');
  });

  it('the order of the tallies does not matter; tallies of other templates are ignored', () => {
    const tallies = [t(randomUUID(), 50, 50), t(B, 5, 1), t(A, 5, 2)];
    expect(decideWinner(two, tallies, rule)).toMatchObject({ kind: 'winner', templateId: A });
    expect(decideWinner(two, [...tallies].reverse(), rule)).toMatchObject({ kind: 'winner', templateId: A });
  });

  it('N = 1: one send each suffices', () => {
    expect(decideWinner(two, [t(A, 1, 0), t(B, 1, 1)], { metric: 'reply_rate', after: 1 })).toMatchObject({ kind: 'winner', templateId: B });
    expect(decideWinner(two, [t(A, 1, 1), t(B, 0, 0)], { metric: 'reply_rate', after: 1 })).toMatchObject({ kind: 'wait' });
  });

  it('refuses an N below 1 and a step without variants', () => {
    expect(() => decideWinner(two, [], { metric: 'reply_rate', after: 0 })).toThrow(RangeError);
    expect(() => decideWinner([], [], rule)).toThrow(RangeError);
  });

  it('exhaustively over small tallies: waits exactly while one is short; else the winner has the highest rate and is first among equals', () => {
    const three = [{ templateId: A }, { templateId: B }, { templateId: C }];
    const range = [0, 1, 2, 3, 4];
    for (const sa of range) for (const sb of range) for (const sc of range) {
      for (const ra of range.filter((r) => r <= sa)) for (const rb of range.filter((r) => r <= sb)) for (const rc of range.filter((r) => r <= sc)) {
        const rows = [t(A, sa, ra), t(B, sb, rb), t(C, sc, rc)];
        const v = decideWinner(three, rows, { metric: 'reply_rate', after: 2 });
        if (Math.min(sa, sb, sc) < 2) {
          expect(v.kind).toBe('wait');
          continue;
        }
        if (v.kind !== 'winner') throw new Error(`expected a winner for ${JSON.stringify(rows)}`);
        const rates = rows.map((r) => r.replied / r.sent);
        const best = Math.max(...rates);
        const first = rows[rates.findIndex((r) => Math.abs(r - best) < 1e-12)]!;
        expect(v.templateId).toBe(first.templateId);
      }
    }
  });
});
