/**
 * Field-named checks of policy settings, for the API and for loading a
 * mailbox. The policy functions assume valid settings (an invalid window,
 * time zone or warm-up date makes them throw a RangeError).
 */
import { resolveCooldown } from './defaults';
import { parseLocalDate, validateTimezone } from './time-zone';
import { windowErrors } from './window';
import type { MailboxPolicySettings } from './types';

function isInt(n: unknown, min: number): boolean {
  return typeof n === 'number' && Number.isInteger(n) && n >= min;
}

function isNum(n: unknown, min: number, max = Infinity): boolean {
  return typeof n === 'number' && Number.isFinite(n) && n >= min && n <= max;
}

/** Problems found, each starting with the field path; empty when the settings are valid. */
export function validatePolicySettings(settings: MailboxPolicySettings): string[] {
  const errors: string[] = [];
  if (!validateTimezone(settings.timezone)) errors.push(`timezone: unknown time zone '${String(settings.timezone)}'`);
  errors.push(...windowErrors(settings.window));

  const l = settings.limits;
  if (!isInt(l.dailyMax, 0)) errors.push('limits.dailyMax: must be an integer >= 0');
  if (!isInt(l.hourlyMax, 1)) errors.push('limits.hourlyMax: must be an integer >= 1');
  if (!isNum(l.minIntervalSeconds, 0)) errors.push('limits.minIntervalSeconds: must be a number >= 0');
  if (!isNum(l.jitterRatio, 0, 1)) errors.push('limits.jitterRatio: must be a number from 0 to 1');

  const w = settings.warmup;
  if (w !== null) {
    if (!isInt(w.startPerDay, 0)) errors.push('warmup.startPerDay: must be an integer >= 0');
    if (!isInt(w.increasePerDay, 0)) errors.push('warmup.increasePerDay: must be an integer >= 0');
    if (!isInt(w.maxPerDay, 1)) errors.push('warmup.maxPerDay: must be an integer >= 1');
    if (!parseLocalDate(w.startedOn)) errors.push('warmup.startedOn: must be a date YYYY-MM-DD');
  }

  const c = resolveCooldown(settings.cooldown);
  for (const key of ['throttleBaseSeconds', 'throttleMaxSeconds', 'bounceCooldownHours', 'complaintCooldownHours'] as const) {
    if (!isNum(c[key], 0)) errors.push(`cooldown.${key}: must be a number >= 0`);
  }
  if (!isInt(c.bounceWindow, 1)) errors.push('cooldown.bounceWindow: must be an integer >= 1');
  if (!isInt(c.bounceMinSample, 1)) errors.push('cooldown.bounceMinSample: must be an integer >= 1');
  else if (isInt(c.bounceWindow, 1) && c.bounceMinSample > c.bounceWindow) {
    errors.push('cooldown.bounceMinSample: must not exceed cooldown.bounceWindow');
  }
  if (!isNum(c.bounceThreshold, 0, 1)) errors.push('cooldown.bounceThreshold: must be a rate from 0 to 1');
  if (!isNum(c.complaintThreshold, 0, 1)) errors.push('cooldown.complaintThreshold: must be a rate from 0 to 1');
  return errors;
}
