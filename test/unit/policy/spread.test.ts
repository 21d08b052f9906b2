import { spreadCounts } from '../../../workflows/policy/spread';

/** Every load vector of `n` mailboxes with loads 0..max. */
function* loadVectors(n: number, max: number): Generator<number[]> {
  if (n === 0) {
    yield [];
    return;
  }
  for (const rest of loadVectors(n - 1, max)) for (let l = 0; l <= max; l++) yield [...rest, l];
}

describe('spreadCounts (water-filling new leads over a campaign’s mailboxes)', () => {
  it('spreads a campaign over idle mailboxes as evenly as whole leads allow, extras to the first in order', () => {
    expect(spreadCounts([0, 0, 0], 5)).toEqual([2, 2, 1]);
    expect(spreadCounts(Array(12).fill(0), 20)).toEqual([...Array(8).fill(2), ...Array(4).fill(1)]);
    expect(spreadCounts([0, 0, 0, 0], 100_000)).toEqual([25_000, 25_000, 25_000, 25_000]);
  });

  it('fills the least loaded mailboxes first, so a pool shared by three campaigns ends level', () => {
    let loads: number[] = Array(12).fill(0);
    for (let c = 0; c < 3; c++) {
      const counts = spreadCounts(loads, 20);
      loads = loads.map((l, i) => l + counts[i]!);
    }
    expect(loads).toEqual(Array(12).fill(5));
    // A mailbox already holding a backlog gets nothing until the others catch up.
    expect(spreadCounts([10, 0, 2], 3)).toEqual([0, 3, 0]);
    expect(spreadCounts([10, 0, 2], 9)).toEqual([0, 6, 3]);
    expect(spreadCounts([10, 0, 2], 30)).toEqual([4, 14, 12]);
  });

  it('gives nothing for no leads or no mailbox, and refuses negative or fractional input', () => {
    expect(spreadCounts([], 0)).toEqual([]);
    expect(spreadCounts([], 7)).toEqual([]);
    expect(spreadCounts([3, 1], 0)).toEqual([0, 0]);
    expect(() => spreadCounts([0], -1)).toThrow(RangeError);
    expect(() => spreadCounts([0], 1.5)).toThrow(/total/);
    expect(() => spreadCounts([-1, 0], 1)).toThrow(/loads/);
  });

  it('for every small load vector and total: counts add up, none negative, and the result is level', () => {
    let cases = 0;
    for (let n = 1; n <= 4; n++) {
      for (const loads of loadVectors(n, 4)) {
        for (let total = 0; total <= 12; total++) {
          const counts = spreadCounts(loads, total);
          const after = loads.map((l, i) => l + counts[i]!);
          const minAfter = Math.min(...after);
          expect(counts.reduce((a, b) => a + b, 0)).toBe(total);
          for (let i = 0; i < n; i++) {
            expect(counts[i]).toBeGreaterThanOrEqual(0);
            // Nobody was given work above the lowest final load + 1 (water-filling is optimal).
            if (counts[i]! > 0) expect(after[i]).toBeLessThanOrEqual(minAfter + 1);
          }
          cases++;
        }
      }
    }
    expect(cases).toBe(13 * (5 + 25 + 125 + 625));
  });
});
