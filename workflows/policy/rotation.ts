import { localDateTime } from './time-zone';

/**
 * When a rotation scope (a client, or the agency's own mailboxes) is due for
 * its daily rotation. The rotation schedule fires every hour; a scope
 * rotates once per local calendar day, at the first run at or after
 * `hour`:00 in its own time zone. A run missed (server down, failed run) is
 * made up by the next hourly run the same local day. Pure: `now` and the
 * last rotated local date are parameters.
 *
 * Returns the local date (YYYY-MM-DD) to rotate for, or null when not due.
 * On a day without `hour` (a daylight-saving jump over it) the first run
 * after the jump rotates.
 */
export function rotationDueOn(timezone: string, hour: number, now: number, lastRotatedOn: string | null): string | null {
  if (!Number.isInteger(hour) || hour < 0 || hour > 23) throw new RangeError(`hour must be 0-23, got ${hour}`);
  const local = localDateTime(now, timezone);
  if (local.hour < hour) return null;
  const today = `${local.year}-${String(local.month).padStart(2, '0')}-${String(local.day).padStart(2, '0')}`;
  return lastRotatedOn !== null && lastRotatedOn >= today ? null : today;
}
