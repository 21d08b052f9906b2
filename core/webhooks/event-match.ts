/**
 * Whether a provider event is about the send it names, pure. A correlation
 * id or message id only says which send the event claims to be about; it
 * settles that send only when the rest of the event agrees with how the send
 * went out:
 *
 * - provider: the send went through an account of the event's provider (an
 *   SMTP account only when the event carries the send's own message id: it
 *   may be that provider's SMTP relay);
 * - account: where the event names the account (Mailgun's `domain.name`,
 *   SES's region in `mail.sourceArn`), it is the send's account;
 * - recipient: the event names the send's recipient (letter case aside);
 * - message id: where both the event and the send carry a message id, they
 *   are the same.
 *
 * A send whose outcome was never recorded (an attempt interrupted before it
 * heard back) has no account yet: any provider account of its mailbox may
 * have sent it, and the event must fit one of them.
 */
import type { FeedbackEvent } from './events';

export type { EventAccount } from './events';

export type MismatchReason = 'provider' | 'account' | 'recipient' | 'message_id';
export type MatchVerdict = { ok: true } | { ok: false; reason: MismatchReason };

/** A provider account a send went (or may have gone) through; `config` opens its stored settings. */
export interface CandidateAccount {
  kind: string;
  config: () => { domain?: unknown; region?: unknown } | null;
}

export interface SendToMatch {
  recipient: string;
  providerMessageId: string | null;
  messageIdHeader: string | null;
  /** The send's account, or, when none was recorded, every account of its mailbox. */
  accounts: CandidateAccount[];
}

const same = (a: unknown, b: string) => typeof a === 'string' && a.trim().toLowerCase() === b;

function accountFits(event: Pick<FeedbackEvent, 'provider' | 'account'>, account: CandidateAccount, ownMessageId: boolean): MismatchReason | null {
  if (account.kind !== event.provider) return account.kind === 'smtp' && ownMessageId ? null : 'provider';
  const named = event.account;
  if (!named || (!named.domain && !named.region)) return null;
  let config: ReturnType<CandidateAccount['config']>;
  try {
    config = account.config();
  } catch {
    config = null; // settings that do not open cannot vouch for the account
  }
  if (!config) return 'account';
  if (named.domain && !same(config.domain, named.domain)) return 'account';
  if (named.region && !same(config.region, named.region)) return 'account';
  return null;
}

export function matchEventToSend(
  event: Pick<FeedbackEvent, 'provider' | 'account' | 'recipient' | 'providerMessageId'>,
  send: SendToMatch,
): MatchVerdict {
  const ids = [send.providerMessageId, send.messageIdHeader].filter((v): v is string => !!v);
  const ownMessageId = event.providerMessageId !== null && ids.includes(event.providerMessageId);
  const verdicts = send.accounts.map((a) => accountFits(event, a, ownMessageId));
  if (!verdicts.includes(null)) return { ok: false, reason: verdicts.includes('account') ? 'account' : 'provider' };
  if (!event.recipient || event.recipient !== send.recipient.trim().toLowerCase()) return { ok: false, reason: 'recipient' };
  if (event.providerMessageId !== null && ids.length > 0 && !ownMessageId) return { ok: false, reason: 'message_id' };
  return { ok: true };
}
