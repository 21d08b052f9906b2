/**
 * What a provider event does, pure: to the send, to the lead, to the
 * client's suppression list and to the mailbox; and when a mailbox's rates
 * call for a cooldown.
 */
import type { FeedbackType } from './events';

export type SendStatus = 'pending' | 'sending' | 'sent' | 'failed' | 'unknown' | 'bounced' | 'complained' | 'delivered';

const WENT_OUT: SendStatus[] = ['sending', 'unknown', 'sent', 'delivered'];

/**
 * The send's next status, or null to leave it. Any event proves the mail
 * went out, so a send left `unknown` (or `sending`) is settled by it.
 * Terminal verdicts only move forward: complained wins over delivered, a
 * bounce never turns back into delivered.
 */
export function sendStatusAfter(current: SendStatus, type: FeedbackType): SendStatus | null {
  if (!WENT_OUT.includes(current) && !(type === 'complained' && current === 'bounced')) return null;
  switch (type) {
    case 'bounced':
      return current === 'bounced' ? null : 'bounced';
    case 'complained':
      return current === 'bounced' ? null : 'complained';
    case 'delivered':
    case 'opened':
    case 'clicked':
    case 'unsubscribed':
      return current === 'sending' || current === 'unknown' || current === 'sent' ? 'delivered' : null;
    case 'soft_bounced':
      return current === 'sending' || current === 'unknown' ? 'sent' : null;
  }
}

/** The lead's status after the event (applied only to a lead still pending, active or done). */
export function leadStatusAfter(type: FeedbackType): 'bounced' | 'complained' | 'unsubscribed' | null {
  return type === 'bounced' ? 'bounced' : type === 'complained' ? 'complained' : type === 'unsubscribed' ? 'unsubscribed' : null;
}

export type SuppressionReason = 'hard_bounce' | 'complaint' | 'unsubscribed';

export function suppressionReasonOf(type: FeedbackType): SuppressionReason | null {
  return type === 'bounced' ? 'hard_bounce' : type === 'complained' ? 'complaint' : type === 'unsubscribed' ? 'unsubscribed' : null;
}

/** The outcome the mailbox workflow hears about (hard bounces and complaints only). */
export function mailboxOutcomeOf(type: FeedbackType): 'bounced' | 'complained' | null {
  return type === 'bounced' ? 'bounced' : type === 'complained' ? 'complained' : null;
}

export interface RateThresholds {
  bounceThreshold: number;
  complaintThreshold: number;
  minSample: number;
  bounceCooldownHours: number;
  complaintCooldownHours: number;
}

export interface MailboxCounts {
  /** Mails that went out in the window (sent, delivered, bounced, complained or unknown). */
  sent: number;
  bounced: number;
  complained: number;
}

export interface RateVerdict {
  bounceRate: number;
  complaintRate: number;
  /** Which thresholds were crossed (strictly above), once the sample is large enough. */
  crossed: ('bounce_rate' | 'complaint_rate')[];
  /** How long to cool down: the longest cooldown among the crossed thresholds; 0 when none. */
  cooldownMs: number;
}

/**
 * Rates over a mailbox's recent sends. A threshold is crossed when the rate
 * is strictly above it and at least minSample mails went out: 3 bounces in
 * 100 sends (3%) crosses the default 2%, 2 in 100 does not.
 */
export function assessMailboxRates(c: MailboxCounts, t: RateThresholds): RateVerdict {
  const sent = Math.max(0, c.sent);
  const bounceRate = sent > 0 ? c.bounced / sent : 0;
  const complaintRate = sent > 0 ? c.complained / sent : 0;
  const crossed: RateVerdict['crossed'] = [];
  let hours = 0;
  if (sent >= t.minSample && sent > 0) {
    if (bounceRate > t.bounceThreshold) {
      crossed.push('bounce_rate');
      hours = Math.max(hours, t.bounceCooldownHours);
    }
    if (complaintRate > t.complaintThreshold) {
      crossed.push('complaint_rate');
      hours = Math.max(hours, t.complaintCooldownHours);
    }
  }
  return { bounceRate, complaintRate, crossed, cooldownMs: hours * 3_600_000 };
}
