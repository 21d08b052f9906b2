import { notifyAlert } from '../services/alerts';
import { insertOwnEvent } from '../db/repositories/events';
import { withTransaction } from '../db/pool';
import { markBouncedAtSend } from '../db/repositories/sends';
import { suppress } from '../db/repositories/suppressions';
import { judgeMailboxFeedback } from '../services/mailbox-verdict';
import { DEFAULT_MAILBOX_RULE } from '../workflows/policy/mailbox-reputation';
import type { ActivityDeps } from './deps';
import type { ProviderSendError } from './providers/types';

export interface SendTimeBounce {
  sendId: string;
  clientId: string;
  campaignId: string;
  leadId: string;
  mailboxId: string;
  email: string;
  /** When the provider refused it (the lane's clock); now when omitted. */
  at?: number;
}

/**
 * A provider refused the recipient's address for good while we sent
 * (recipient_invalid: an SMTP 550 / 551 / 553 at RCPT, a provider's
 * invalid-recipient answer): a hard bounce, recorded as one, in one
 * transaction: the send `bounced` (counted in its mailbox's sample), the
 * lead `bounced`, the address on the client's suppression list
 * (`hard_bounce`: its other waiting leads stop), and a `bounced` event of the
 * send. Then the one reputation rule judges the mailbox as it does for a
 * bounce a provider reports (services/mailbox-verdict.ts): an alert and a
 * cooldown on a breach, the mailbox workflow told. If that second step fails
 * (Temporal unreachable), the bounce stays recorded and the reputation
 * controller judges the same sample within 15 minutes.
 */
export async function recordSendTimeBounce(deps: ActivityDeps, b: SendTimeBounce, err: ProviderSendError): Promise<void> {
  const log = deps.logger.child({ campaignId: b.campaignId, mailboxId: b.mailboxId });
  await withTransaction(deps.pool, async (tx) => {
    await markBouncedAtSend(tx, b.sendId, err.message, err.accountId, b.at);
    await tx.query(`UPDATE leads SET status = 'bounced', next_due_at = NULL WHERE id = $1 AND status IN ('pending', 'active', 'done')`, [b.leadId]);
    await suppress(tx, b.clientId, b.email, 'hard_bounce');
    await insertOwnEvent(tx, {
      clientId: b.clientId,
      sendId: b.sendId,
      providerAccountId: err.accountId ?? null,
      type: 'bounced',
      dedupeKey: `send-time:${b.sendId}`,
      payload: { stage: 'send', errorClass: err.errorClass, providerCode: err.providerCode ?? null, reason: err.message },
      occurredAt: new Date(b.at ?? Date.now()),
    });
  });
  log.warn({ sendId: b.sendId, providerId: err.accountId, providerCode: err.providerCode }, 'recipient refused at send time: hard bounce, address suppressed');
  const verdictDeps = { temporal: deps.client, rule: deps.mailboxRule ?? DEFAULT_MAILBOX_RULE, log: deps.logger };
  try {
    const { alerts } = await withTransaction(deps.pool, (tx) =>
      judgeMailboxFeedback(verdictDeps, tx, { mailboxId: b.mailboxId, clientId: b.clientId, outcome: 'bounced', requestId: `send-time:${b.sendId}` }),
    );
    for (const alert of alerts) await notifyAlert(deps.alertWebhookUrl, deps.logger, alert);
  } catch (e) {
    log.warn({ sendId: b.sendId, err: (e as Error).message }, 'send-time bounce not judged now; the reputation controller will');
  }
}
