import { ApplicationFailure } from '@temporalio/activity';
import { appendFooter } from '../core/template/footer';
import { buildTemplateVars, renderEmail } from '../core/template/render';
import { listUnsubscribeHeaders, makeUnsubscribeToken } from '../core/unsubscribe';
import { getCampaignById } from '../db/repositories/campaigns';
import { getClient } from '../db/repositories/clients';
import { advanceLead, threadOf } from '../db/repositories/lead-work';
import { getLead, setLeadStatus } from '../db/repositories/leads';
import { getMailboxById } from '../db/repositories/mailboxes';
import { claimSend, markSendStatus, markSent } from '../db/repositories/sends';
import { getTemplate } from '../db/repositories/templates';
import type { ActivityDeps } from './deps';
import { FailoverSender } from './providers/failover';
import { ProviderSendError, type OutgoingMessage } from './providers/types';

export interface SendStepInput {
  campaignId: string;
  leadId: string;
  step: number;
  mailboxId: string;
  /** The slot the mailbox granted (epoch ms), recorded with the send. */
  slotAt?: number;
}

export type SendStepResult =
  | { status: 'sent'; sendId: string; providerMessageId: string; providerAccountId: string; replayed: boolean }
  | { status: 'unknown' | 'failed' | 'skipped'; sendId: string | null; reason: string }
  /** The provider asked us to slow down: nothing was sent; report it to the mailbox and ask for a new slot. */
  | { status: 'throttled'; sendId: string; reason: string; retryAfterMs: number | null };

/** Failure types the campaign and mailbox workflows branch on. */
export const SEND_FAILURE_TYPES = {
  senderMisconfigured: 'SenderMisconfigured',
  throttled: 'Throttled',
  transient: 'Transient',
  providerDown: 'ProviderDown',
} as const;

export function sendStepActivities(deps: ActivityDeps) {
  const { pool, providers, logger } = deps;
  const sender = new FailoverSender(pool, providers, logger, deps.breaker);

  async function sendStep(input: SendStepInput): Promise<SendStepResult> {
    const log = logger.child({ campaignId: input.campaignId, mailboxId: input.mailboxId, step: input.step });
    const [lead, campaign, mailbox] = await Promise.all([
      getLead(pool, input.leadId),
      getCampaignById(pool, input.campaignId),
      getMailboxById(pool, input.mailboxId),
    ]);
    if (!lead || !campaign || !mailbox) throw ApplicationFailure.nonRetryable('lead, campaign or mailbox vanished', 'NotFound');
    if (['suppressed', 'unsubscribed', 'bounced', 'complained', 'replied', 'failed'].includes(lead.status)) {
      return { status: 'skipped', sendId: null, reason: `lead ${lead.status}` };
    }
    const stepDef = campaign.steps[input.step];
    if (!stepDef) throw ApplicationFailure.nonRetryable(`campaign has no step ${input.step}`, 'NotFound');

    // Intent first: the unique (lead, step) row is written before any provider is called.
    const atLeastOnce = deps.deliveryGuarantee === 'at-least-once';
    const { claimed, row } = await claimSend(pool, { clientId: lead.clientId, ...input }, { reclaimInterrupted: atLeastOnce });
    if (!claimed) {
      // Another attempt owns or finished this (lead, step): settle the lead from the stored outcome.
      const advance = () => advanceLead(pool, lead.id, input.step, campaign.steps[input.step + 1]?.delayDays ?? null);
      if (row.status === 'sent' || row.status === 'delivered') {
        await advance();
        return {
          status: 'sent',
          sendId: row.id,
          providerMessageId: row.providerMessageId ?? '',
          providerAccountId: row.providerAccountId ?? '',
          replayed: true,
        };
      }
      if (row.status === 'sending' || row.status === 'unknown') {
        // An earlier attempt died between claiming and hearing back: it may have gone out. At-most-once.
        if (row.status === 'sending') await markSendStatus(pool, row.id, 'unknown', 'attempt interrupted; outcome unknown');
        await advance();
        return { status: 'unknown', sendId: row.id, reason: 'earlier attempt interrupted' };
      }
      await setLeadStatus(pool, lead.id, 'failed', ['pending', 'active']);
      return { status: 'failed', sendId: row.id, reason: `send already ${row.status}` };
    }

    const [template, client] = await Promise.all([
      getTemplate(pool, lead.clientId, stepDef.templateId),
      getClient(pool, lead.clientId),
    ]);
    if (!template || !client) {
      await markSendStatus(pool, row.id, 'failed', 'template missing');
      throw ApplicationFailure.nonRetryable('template missing', 'NotFound');
    }
    const domain = mailbox.address.split('@')[1] ?? 'localhost';
    const token = makeUnsubscribeToken(deps.unsubscribeKey, lead.clientId, lead.id);
    const unsubscribeUrl = `${deps.publicBaseUrl.replace(/\/$/, '')}/u/${token}`;
    const vars = buildTemplateVars(lead, { sender: { name: mailbox.displayName, email: mailbox.address }, unsubscribeUrl });
    const rendered = renderEmail(template, vars, lead.id);
    const body = appendFooter(rendered, { physicalAddress: client.physical_address, unsubscribeUrl });
    const message: OutgoingMessage = {
      from: { address: mailbox.address, name: mailbox.displayName ?? undefined },
      to: lead.email,
      subject: rendered.subject,
      text: body.text,
      html: body.html,
      messageId: `<${row.id}@${domain}>`,
      correlationId: row.id,
      headers: listUnsubscribeHeaders(deps.publicBaseUrl, token),
    };
    if (input.step > 0) {
      // A follow-up answers the earlier steps in the same thread.
      const thread = await threadOf(pool, lead.id, input.step);
      if (thread.length) {
        message.inReplyTo = thread[thread.length - 1];
        message.references = thread;
      }
    }

    if (mailbox.providerIds.length === 0) {
      await markSendStatus(pool, row.id, 'pending', 'mailbox has no provider');
      throw ApplicationFailure.nonRetryable('mailbox has no provider', SEND_FAILURE_TYPES.senderMisconfigured);
    }
    let result: Awaited<ReturnType<FailoverSender['send']>>;
    try {
      result = await sender.send(mailbox.providerIds, message, `${row.id}:${row.attempts}`);
    } catch (err) {
      if (!(err instanceof ProviderSendError)) {
        await markSendStatus(pool, row.id, 'pending', String((err as Error).message));
        throw err;
      }
      const accountId = err.accountId;
      log.warn({ sendId: row.id, errorClass: err.errorClass, providerId: accountId }, 'send failed');
      switch (err.errorClass) {
        case 'recipient_permanent':
          await markSendStatus(pool, row.id, 'failed', err.message, accountId);
          await setLeadStatus(pool, lead.id, 'failed', ['pending', 'active']);
          return { status: 'failed', sendId: row.id, reason: err.message };
        case 'ambiguous':
          if (atLeastOnce) {
            // Chosen by the operator: rather a possible duplicate than a possible loss.
            await markSendStatus(pool, row.id, 'pending', err.message, accountId);
            throw ApplicationFailure.create({ message: err.message, type: SEND_FAILURE_TYPES.transient, nonRetryable: false });
          }
          await markSendStatus(pool, row.id, 'unknown', err.message, accountId);
          // It probably went out: the sequence goes on (a later provider event settles it).
          await advanceLead(pool, lead.id, input.step, campaign.steps[input.step + 1]?.delayDays ?? null);
          return { status: 'unknown', sendId: row.id, reason: err.message };
        case 'sender_misconfigured':
          await markSendStatus(pool, row.id, 'pending', err.message, accountId);
          throw ApplicationFailure.nonRetryable(err.message, SEND_FAILURE_TYPES.senderMisconfigured);
        case 'throttled':
          await markSendStatus(pool, row.id, 'pending', err.message, accountId);
          return { status: 'throttled', sendId: row.id, reason: err.message, retryAfterMs: err.retryAfterMs ?? null };
        default: {
          await markSendStatus(pool, row.id, 'pending', err.message, accountId);
          const type = err.errorClass === 'provider_down' ? SEND_FAILURE_TYPES.providerDown : SEND_FAILURE_TYPES.transient;
          throw ApplicationFailure.create({
            message: err.message,
            type,
            nonRetryable: false,
            nextRetryDelay: err.retryAfterMs,
          });
        }
      }
    }
    // Accepted. If recording it fails, the row stays 'sending' and the retry
    // settles it from there; it must never go back to 'pending' (a re-send).
    await markSent(pool, row.id, {
      providerAccountId: result.accountId,
      providerMessageId: result.providerMessageId,
      messageIdHeader: message.messageId,
      slotAt: input.slotAt,
    });
    await advanceLead(pool, lead.id, input.step, campaign.steps[input.step + 1]?.delayDays ?? null);
    log.info({ sendId: row.id, provider: result.providerName }, 'sent');
    return { status: 'sent', sendId: row.id, providerMessageId: result.providerMessageId, providerAccountId: result.accountId, replayed: false };
  }

  return { sendStep };
}
