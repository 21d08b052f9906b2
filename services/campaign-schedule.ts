/**
 * Checks of a new campaign's schedule that need the clock or the database:
 * startAt not in the past, and a window that some mailbox of the campaign
 * can send in (the window is enforced as the intersection with each
 * mailbox's own window, so one that meets none of them could never send).
 */
import type { Pool } from 'pg';
import type { ErrorDetail } from '../core/errors';
import { DEFAULT_CAMPAIGN_TIMEZONE, type CreateCampaignBody } from '../core/schemas/campaigns';
import { selectCampaignMailboxes, type MailboxRecord } from '../db/repositories/mailboxes';
import { windowsCanOverlap, type WindowConstraint } from '../workflows/policy';

/** Field-named problems; empty when the schedule is fine. */
export async function campaignScheduleProblems(
  pool: Pool,
  clientId: string,
  body: Pick<CreateCampaignBody, 'window' | 'timezone' | 'startAt' | 'mailboxes'>,
  nowMs: number,
): Promise<ErrorDetail[]> {
  const problems: ErrorDetail[] = [];
  if (body.startAt !== undefined && Date.parse(body.startAt) < nowMs) {
    problems.push({ path: 'startAt', message: 'must not be in the past' });
  }
  if (body.window) {
    const campaign: WindowConstraint = { window: body.window, timezone: body.timezone ?? DEFAULT_CAMPAIGN_TIMEZONE };
    const mailboxes = await selectCampaignMailboxes(pool, clientId, body.mailboxes);
    // No mailbox yet (a pool filled later): nothing to check against.
    if (mailboxes.length > 0 && !someWindowOverlaps(campaign, mailboxes, nowMs)) {
      problems.push({
        path: 'window',
        message: `never overlaps the sending window of any of the campaign's ${mailboxes.length} mailbox(es), in their time zones`,
      });
    }
  }
  return problems;
}

/** Each distinct mailbox window and zone is checked once; stops at the first that overlaps. */
function someWindowOverlaps(campaign: WindowConstraint, mailboxes: MailboxRecord[], nowMs: number): boolean {
  const seen = new Set<string>();
  for (const m of mailboxes) {
    const key = `${m.timezone}|${m.window.days.join(',')}|${m.window.start}|${m.window.end}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const own = { window: m.window, timezone: m.timezone } as WindowConstraint;
    try {
      if (windowsCanOverlap(campaign, own, nowMs)) return true;
    } catch {
      // A stored window the policy cannot read cannot send either: it proves no overlap.
    }
  }
  return false;
}
