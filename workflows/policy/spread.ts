/**
 * How many new leads each mailbox of a campaign takes, given the work each
 * already holds (from every campaign): water-filling. The least loaded
 * mailboxes are filled up to a common level first, so a pool shared by
 * several campaigns ends up evenly loaded, not just each campaign evenly
 * spread. Leads left over after the level (fewer than the mailboxes at it)
 * go one each to the first of those in the given order: callers order ties
 * differently per campaign so no mailbox always gets the extra lead.
 *
 * Pure: loads[i] is mailbox i's current load; returns counts[i] >= 0 with
 * sum(counts) === total (0 for no mailbox).
 */
export function spreadCounts(loads: readonly number[], total: number): number[] {
  if (!Number.isInteger(total) || total < 0) throw new RangeError(`total must be a non-negative integer, got ${total}`);
  for (const l of loads) if (!Number.isInteger(l) || l < 0) throw new RangeError(`loads must be non-negative integers, got ${l}`);
  const counts: number[] = loads.map(() => 0);
  if (loads.length === 0 || total === 0) return counts;
  // Stable: equal loads keep the caller's order.
  const order = loads.map((l, i) => [l, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(([, i]) => i);
  let k = 0;
  let sum = 0;
  let level = 0;
  while (k < order.length) {
    sum += loads[order[k]!]!;
    k++;
    level = Math.floor((total + sum) / k);
    if (k === order.length || level <= loads[order[k]!]!) break;
  }
  let given = 0;
  for (let j = 0; j < k; j++) {
    const i = order[j]!;
    counts[i] = Math.max(0, level - loads[i]!);
    given += counts[i]!;
  }
  // What the floor left over goes to the lowest loaded first.
  for (let j = 0; given < total; j = (j + 1) % k) {
    counts[order[j]!]!++;
    given++;
  }
  return counts;
}
