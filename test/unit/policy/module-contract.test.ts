/**
 * The policy's public surface and its workflow-sandbox rules: the names other
 * code calls, and no clock, randomness, Node or Temporal inside.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as policy from '../../../workflows/policy';

const POLICY_DIR = join(__dirname, '../../../workflows/policy');

describe('workflows/policy public API', () => {
  it('exports the agreed functions and constants', () => {
    const functions = [
      'initialPolicyState', 'warmupDay', 'warmupCap', 'dailyCap', 'countSentToday', 'countSentThisHour',
      'earliestSlot', 'recordGrant', 'releaseGrant', 'applyOutcome', 'pause', 'resume',
      'nextWindowOpening', 'isInsideWindow', 'validateTimezone',
    ] as const;
    for (const name of functions) expect(typeof policy[name]).toBe('function');
    expect(policy.DEFAULT_WARMUP_RAMP).toEqual({ startPerDay: 5, increasePerDay: 3, maxPerDay: 50 });
    expect(policy.DEFAULT_WINDOW).toEqual({ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' });
    expect(policy.DEFAULT_COOLDOWN).toMatchObject({ throttleBaseSeconds: 300, throttleMaxSeconds: 21600, bounceWindow: 20, bounceThreshold: 0.05, bounceCooldownHours: 12, complaintCooldownHours: 24 });
    // The documented defaults (README "The mailbox fleet"), the same set the import fills a row with.
    expect(policy.DEFAULT_LIMITS).toEqual({ dailyMax: 50, hourlyMax: 10, minIntervalSeconds: 72, jitterRatio: 0.3 });
    expect(policy.initialPolicyState()).toEqual({
      grants: [], nextEarliestAt: null, cooldownUntil: null, throttleStreak: 0, recentOutcomes: [], paused: false, pauseReason: null,
    });
  });

  it('freezes the defaults so no caller can change them for everyone', () => {
    expect(Object.isFrozen(policy.DEFAULT_LIMITS)).toBe(true);
    expect(Object.isFrozen(policy.DEFAULT_WINDOW.days)).toBe(true);
    expect(Object.isFrozen(policy.DEFAULT_COOLDOWN)).toBe(true);
  });

  it('uses no clock, randomness, Node built-ins, process or Temporal (deterministic sandbox)', () => {
    const files = readdirSync(POLICY_DIR).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThanOrEqual(8);
    const banned = [/Date\.now\s*\(/, /Math\.random/, /new Date\(\s*\)/, /\bprocess\b/, /from ['"](node:|@temporalio)/, /\brequire\(/, /performance\.now/, /setTimeout/];
    const hits: string[] = [];
    for (const f of files) {
      const text = readFileSync(join(POLICY_DIR, f), 'utf8');
      for (const re of banned) if (re.test(text)) hits.push(`${f}: ${re}`);
      const lines = text.split('\n').length;
      if (lines > 300) hits.push(`${f}: ${lines} lines`);
      for (const m of text.matchAll(/from '([^']+)'/g)) if (!m[1].startsWith('./')) hits.push(`${f}: imports ${m[1]}`);
    }
    expect(hits).toEqual([]);
  });
});
