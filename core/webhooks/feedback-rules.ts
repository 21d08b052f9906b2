/**
 * What a provider event does, pure: to the send, to the lead, to the
 * client's suppression list and to the mailbox. (Whether the mailbox's rates
 * call for a cooldown is the one reputation rule's call:
 * workflows/policy/mailbox-reputation.ts.)
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
