import type { CooldownSettings, MailboxLimits, SendingWindow, WarmupRamp } from './types';

/**
 * The engine's one set of mailbox defaults (README "The mailbox fleet"): an
 * import fills what a row leaves out from these (api/lifecycle/mailbox-import.ts),
 * and the workflow paces with what the row holds.
 *
 * Conservative cold-outreach limits: 50/day, at most 10 in any 60 minutes,
 * at least 72 s apart (the jitter adds up to 30 % on top); at 10/hour the
 * 50 of a day fit in the default eight-hour window.
 */
export const DEFAULT_LIMITS: MailboxLimits = Object.freeze({
  dailyMax: 50,
  hourlyMax: 10,
  minIntervalSeconds: 72,
  jitterRatio: 0.3,
});

/** Day 0: 5 sends, +3 a day, flat at 50 from day 15. */
export const DEFAULT_WARMUP_RAMP: WarmupRamp = Object.freeze({
  startPerDay: 5,
  increasePerDay: 3,
  maxPerDay: 50,
});

/** Monday to Friday, 09:00 to 17:00 local. */
export const DEFAULT_WINDOW: SendingWindow = Object.freeze({
  days: Object.freeze(['mon', 'tue', 'wed', 'thu', 'fri']) as SendingWindow['days'],
  start: '09:00',
  end: '17:00',
});

/**
 * bounceMinSample is 10, not the full window of 20: a fresh mailbox in warm-up
 * sends 5 to 20 mails a day, and waiting for 20 outcomes would let a bad list
 * burn it for days. The price: with 10 to 19 outcomes one bounce is already a
 * rate above 5%, while a full window of 20 needs two bounces.
 */
export const DEFAULT_COOLDOWN: CooldownSettings = Object.freeze({
  throttleBaseSeconds: 300,
  throttleMaxSeconds: 6 * 3600,
  bounceWindow: 20,
  bounceThreshold: 0.05,
  bounceMinSample: 10,
  bounceCooldownHours: 12,
  complaintThreshold: 0.01,
  complaintCooldownHours: 24,
});

/** DEFAULT_COOLDOWN with the defined overrides applied (undefined keeps the default). */
export function resolveCooldown(overrides: Partial<CooldownSettings> | undefined): CooldownSettings {
  const out: CooldownSettings = { ...DEFAULT_COOLDOWN };
  if (overrides) {
    for (const key of Object.keys(overrides) as (keyof CooldownSettings)[]) {
      const value = overrides[key];
      if (value !== undefined) out[key] = value;
    }
  }
  return out;
}
