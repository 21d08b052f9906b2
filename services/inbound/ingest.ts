/**
 * The one way inbound mail comes in, whatever brought it (the mailbox's own
 * IMAP inbox, or a provider's inbound webhook): parse, classify, match to
 * the send it answers, store, act. Every lookup is bounded by the receiving
 * mailbox's client (db/repositories/inbound.ts InboundScope), so a message
 * never touches another tenant's sends.
 *
 * - a real reply stops the lead in every campaign of the send's client, is
 *   stored (replies) and raises a `reply` alert (services/alerts.ts);
 * - an auto-reply is stored as such and stops nothing, unless the send's
 *   campaign says `stopOnAutoReply` (then that campaign's lead stops);
 * - a DSN settles the send as bounced through the feedback path
 *   (services/feedback.ts): a hard bounce suppresses the address for the
 *   client and counts in the mailbox's bounce rate.
 *
 * Each classified message writes one `events` row (type replied,
 * auto_replied, bounced or soft_bounced; provider_kind the source), once:
 * the row's de-duplication key makes a message seen twice a no-op.
 */
import { createHash } from 'node:crypto';
import type { PoolClient } from 'pg';
import { notifyAlert, recordAlert } from '../alerts';
import { classifyInbound, type Classification, type InboundMail } from '../../core/inbound/classify';
import type { DsnRecipient } from '../../core/inbound/dsn';
import type { AlertRow } from '../../db/repositories/alerts';
import {
  insertInboundEvent,
  sendByMessageIds,
  sendByRecipient,
  stopLeadInCampaign,
  type InboundScope,
  type InboundSend,
} from '../../db/repositories/inbound';
import { markReplied } from '../../db/repositories/lead-work';
import { insertReply } from '../../db/repositories/replies';
import { applyMatchedFeedback, type FeedbackDeps } from '../feedback';
import { parseInbound } from './parse';
import { withTransaction } from '../../db/pool';

export type InboundSource = 'imap' | 'ses' | 'mailgun' | 'sendgrid';

export type InboundDeps = FeedbackDeps;

export interface InboundMessage {
  source: InboundSource;
  /** The mailbox that received it, and its client (null: an agency mailbox). */
  scope: InboundScope;
  raw: Buffer;
  receivedAt: Date;
}

export type IngestResult =
  | { outcome: 'duplicate' }
  | { outcome: 'unmatched'; kind: Classification['kind'] }
  | { outcome: 'reply'; sendId: string; replyId: string; stopped: number }
  | { outcome: 'auto_reply'; sendId: string; replyId: string; stopped: boolean }
  | { outcome: 'bounce'; sendId: string; hard: boolean };

/** Longest reply text kept (the rest stays in the mailbox). */
const MAX_STORED_TEXT = 64 * 1024;

const sha = (v: string | Buffer) => createHash('sha256').update(v).digest('hex');

/** One key per message and receiving mailbox: its Message-ID, else its bytes. */
export function inboundDedupeKey(source: InboundSource, mailboxId: string, mail: Pick<InboundMail, 'messageId'>, raw: Buffer): string {
  return `${source}:${mailboxId}:${sha(mail.messageId ?? raw).slice(0, 40)}`;
}

const eventType = (c: Classification, hard: boolean) =>
  c.kind === 'reply' ? 'replied' : c.kind === 'auto_reply' ? 'auto_replied' : hard ? 'bounced' : 'soft_bounced';

/** The DSN recipient the send was for (letter case aside); a DSN naming no recipient is taken at its word. */
function bouncedRecipient(recipients: DsnRecipient[], send: InboundSend): DsnRecipient | 'unnamed' | null {
  const named = recipients.filter((r) => r.address !== null);
  if (named.length === 0) return 'unnamed';
  return named.find((r) => r.failed && r.address === send.leadEmail.toLowerCase()) ?? null;
}

async function match(db: PoolClient, scope: InboundScope, mail: InboundMail, c: Classification): Promise<{ send: InboundSend; by: 'message_id' | 'sender' } | null> {
  if (c.kind === 'dsn') {
    const ids = [...(c.originalMessageId ? [c.originalMessageId] : []), ...mail.inReplyTo, ...[...mail.references].reverse()];
    const byId = await sendByMessageIds(db, scope, ids);
    if (byId) return { send: byId, by: 'message_id' };
    // A bounce comes back to the mailbox that sent the mail: only its own sends to that recipient.
    for (const r of c.recipients.filter((x) => x.failed && x.address)) {
      const send = await sendByRecipient(db, scope, r.address!, { ownMailboxOnly: true });
      if (send) return { send, by: 'sender' };
    }
    return null;
  }
  // In-Reply-To names the message answered; References run oldest first, so the newest of ours is the last.
  const byId = await sendByMessageIds(db, scope, [...mail.inReplyTo, ...[...mail.references].reverse()]);
  if (byId) return { send: byId, by: 'message_id' };
  const send = mail.from ? await sendByRecipient(db, scope, mail.from) : null;
  return send ? { send, by: 'sender' } : null;
}

/** Parses, classifies, matches, stores and acts on one inbound message, in one transaction. */
export async function ingestInbound(deps: InboundDeps, msg: InboundMessage): Promise<IngestResult> {
  const mail = await parseInbound(msg.raw);
  const c = classifyInbound(mail);
  const dedupeKey = inboundDedupeKey(msg.source, msg.scope.mailboxId, mail, msg.raw);
  const alerts: AlertRow[] = [];
  const log = { source: msg.source, mailboxId: msg.scope.mailboxId, kind: c.kind };

  const result = await withTransaction(deps.pool, async (db): Promise<IngestResult> => {
    let found = await match(db, msg.scope, mail, c);
    let bounce: DsnRecipient | 'unnamed' | null = null;
    if (found && c.kind === 'dsn') {
      bounce = bouncedRecipient(c.recipients, found.send);
      if (!bounce) found = null; // a DSN about someone else than the send's recipient settles nothing
    }
    const hard = bounce !== null && bounce !== 'unnamed' && bounce.hard;
    const send = found?.send ?? null;
    const stored = await insertInboundEvent(db, {
      clientId: send?.clientId ?? msg.scope.clientId,
      sendId: send?.id ?? null,
      source: msg.source,
      type: eventType(c, hard),
      dedupeKey,
      occurredAt: msg.receivedAt,
      payload: {
        mailboxId: msg.scope.mailboxId,
        messageId: mail.messageId,
        inReplyTo: mail.inReplyTo.slice(0, 20),
        classification: c.kind,
        ...(c.kind === 'auto_reply' ? { reason: c.reason } : {}),
        ...(c.kind === 'dsn' ? { recipients: c.recipients.slice(0, 20), originalMessageId: c.originalMessageId } : {}),
        matchedBy: found?.by ?? null,
      },
    });
    if (!stored) return { outcome: 'duplicate' };
    if (!found || !send) return { outcome: 'unmatched', kind: c.kind };

    if (c.kind === 'dsn') {
      await applyMatchedFeedback(deps, db, { provider: msg.source, eventId: dedupeKey, type: hard ? 'bounced' : 'soft_bounced' }, send, alerts);
      return { outcome: 'bounce', sendId: send.id, hard };
    }
    const replyId = await insertReply(db, {
      clientId: send.clientId,
      campaignId: send.campaignId,
      leadId: send.leadId,
      sendId: send.id,
      step: send.step,
      mailboxId: msg.scope.mailboxId,
      source: msg.source,
      kind: c.kind,
      matchedBy: found.by,
      fromAddress: mail.from ?? send.leadEmail,
      subject: mail.subject.slice(0, 1000) || null,
      messageId: mail.messageId,
      bodyText: mail.text.slice(0, MAX_STORED_TEXT) || null,
      receivedAt: msg.receivedAt,
      dedupeKey,
    });
    if (!replyId) return { outcome: 'duplicate' };
    if (c.kind === 'auto_reply') {
      const stopped = send.stopOnAutoReply ? await stopLeadInCampaign(db, send.leadId) : false;
      return { outcome: 'auto_reply', sendId: send.id, replyId, stopped };
    }
    const stopped = await markReplied(db, send.clientId, send.leadEmail);
    alerts.push(
      await recordAlert(db, deps.log, {
        clientId: send.clientId,
        kind: 'reply',
        subjectType: 'campaign',
        subjectId: send.campaignId,
        message: `reply ${replyId} from lead ${send.leadId} to step ${send.step + 1} of campaign ${send.campaignId} (send ${send.id}); ` +
          `its remaining steps stopped in ${stopped} campaign${stopped === 1 ? '' : 's'}`,
      }),
    );
    return { outcome: 'reply', sendId: send.id, replyId, stopped };
  });

  for (const alert of alerts) await notifyAlert(deps.config.ALERT_WEBHOOK_URL, deps.log, alert);
  deps.log.info({ ...log, outcome: result.outcome, ...('sendId' in result ? { sendId: result.sendId } : {}) }, 'inbound message ingested');
  return result;
}
