import { rotationDueOn } from '../../../workflows/policy/rotation';

const at = (iso: string) => Date.parse(iso);

describe('rotationDueOn (once per local day, at the scope’s hour in its own zone)', () => {
  it('is due from the hour on, in the scope’s zone, not before', () => {
    // 03:00 in New York is 08:00 UTC in winter.
    expect(rotationDueOn('America/New_York', 3, at('2026-01-15T07:59:00Z'), null)).toBeNull();
    expect(rotationDueOn('America/New_York', 3, at('2026-01-15T08:00:00Z'), null)).toBe('2026-01-15');
    // The same instant is another local day in Tokyo, past its 03:00.
    expect(rotationDueOn('Asia/Tokyo', 3, at('2026-01-15T08:00:00Z'), null)).toBe('2026-01-15');
    expect(rotationDueOn('Asia/Tokyo', 3, at('2026-01-15T17:30:00Z'), '2026-01-15')).toBeNull(); // 02:30 on the 16th
    expect(rotationDueOn('Asia/Tokyo', 3, at('2026-01-15T18:30:00Z'), '2026-01-15')).toBe('2026-01-16');
    expect(rotationDueOn('UTC', 0, at('2026-01-15T00:00:00Z'), null)).toBe('2026-01-15');
  });

  it('rotates a scope once per local day; a missed hour is made up later the same day', () => {
    expect(rotationDueOn('Europe/Berlin', 3, at('2026-03-10T02:00:00Z'), '2026-03-10')).toBeNull();
    expect(rotationDueOn('Europe/Berlin', 3, at('2026-03-10T21:00:00Z'), '2026-03-09')).toBe('2026-03-10');
    expect(rotationDueOn('Europe/Berlin', 3, at('2026-03-10T22:59:00Z'), '2026-03-09')).toBe('2026-03-10');
    // Just after local midnight the new day is not due before the hour.
    expect(rotationDueOn('Europe/Berlin', 3, at('2026-03-10T23:30:00Z'), '2026-03-10')).toBeNull();
  });

  it('across daylight-saving changes: the hour follows local time, and a skipped hour still rotates that day', () => {
    // US spring forward 2026-03-08: 02:00 → 03:00. Rotation at 2: the first run after the jump is due.
    expect(rotationDueOn('America/New_York', 2, at('2026-03-08T06:59:00Z'), '2026-03-07')).toBeNull(); // 01:59 EST
    expect(rotationDueOn('America/New_York', 2, at('2026-03-08T07:00:00Z'), '2026-03-07')).toBe('2026-03-08'); // 03:00 EDT
    // Summer: 03:00 EDT is 07:00 UTC.
    expect(rotationDueOn('America/New_York', 3, at('2026-07-01T06:59:00Z'), null)).toBeNull();
    expect(rotationDueOn('America/New_York', 3, at('2026-07-01T07:00:00Z'), null)).toBe('2026-07-01');
    // Fall back 2026-11-01: 01:00 happens twice; the second time it is not due again.
    expect(rotationDueOn('America/New_York', 1, at('2026-11-01T05:00:00Z'), '2026-10-31')).toBe('2026-11-01');
    expect(rotationDueOn('America/New_York', 1, at('2026-11-01T06:00:00Z'), '2026-11-01')).toBeNull();
  });

  it('hourly runs over a year in several zones: one rotation per local day, none skipped, none twice', () => {
    for (const zone of ['UTC', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Pacific/Chatham']) {
      const dues: string[] = [];
      // From 2026-01-02 local (the zones' offsets stay within a day of UTC) for a year of hourly runs.
      for (let t = at('2026-01-02T12:00:00Z'); t < at('2027-01-02T12:00:00Z'); t += 3_600_000) {
        const due = rotationDueOn(zone, 3, t, dues.at(-1) ?? null);
        if (due) dues.push(due);
      }
      const gaps = dues.slice(1).map((d, i) => (Date.parse(`${d}T00:00:00Z`) - Date.parse(`${dues[i]}T00:00:00Z`)) / 86_400_000);
      expect({ zone, gaps: [...new Set(gaps)] }).toEqual({ zone, gaps: [1] });
      // A year of hourly runs covers 365 or 366 local days (by where the zone's first and last 03:00 fall).
      expect({ zone, enough: dues.length >= 365 && dues.length <= 366 }).toEqual({ zone, enough: true });
    }
  });

  it('refuses an hour outside 0-23 and an unknown zone', () => {
    expect(() => rotationDueOn('UTC', 24, 0, null)).toThrow(RangeError);
    expect(() => rotationDueOn('Mars/Olympus', 3, 0, null)).toThrow();
  });
});
