import type { Client } from '@temporalio/client';
import type { Pool, PoolClient } from 'pg';
import { notifyAlert, type AlertLogger } from './alerts';
import type { Config } from '../core/config';
import type { SecretBox } from '../core/crypto';
import { matchEventToSend } from '../core/webhooks/event-match';
import type { FeedbackEvent } from '../core/webhooks/events';
import { leadStatusAfter, mailboxOutcomeOf, sendStatusAfter, suppressionReasonOf } from '../core/webhooks/feedback-rules';
import type { AlertRow } from '../db/repositories/alerts';
import { findSendForEvent, insertEvent, setSendStatusFromEvent, type EventSend } from '../db/repositories/events';
import { suppress } from '../db/repositories/suppressions';
import { judgeMailboxFeedback, mailboxRuleFromConfig } from './mailbox-verdict';
import { withTransaction } from '../db/pool';

export interface FeedbackDeps {
  pool: Pool;
  temporal: Client;
  config: Config;
  /** Opens provider accounts' settings, to check an event's account against the send's. */
  box: SecretBox;
  log: AlertLogger & { info(obj: object, msg: string): void };
}

export interface FeedbackReport {
  stored: number;
  duplicates: number;
  /** Events naming no send we know: stored, attributed to no one. */
  unmatched: number;
  /**
   * Events naming a send whose account or recipient they do not share
   * (core/webhooks/event-match.ts): stored like unmatched ones, attributed to
   * no one, and they settle nothing.
   */
  mismatched: number;
}

/**
 * Applies verified provider events, each in its own transaction: the event
 * is stored once (a provider event id seen before is skipped whole), the
 * send is settled, the lead stopped, the address suppressed for the send's
 * client, and a bounce or complaint is judged by the one reputation rule
 * (services/mailbox-verdict.ts): the mailbox workflow hears it with the
 * rule's verdict, and a breach raises an alert. `guard` runs first in the
 * first event's transaction (the Mailgun replay check): false refuses the
 * batch, and a failure later in that transaction forgets the token again.
 */
export async function applyFeedbackEvents(
  deps: FeedbackDeps,
  events: FeedbackEvent[],
  guard?: (db: PoolClient) => Promise<boolean>,
): Promise<FeedbackReport | null> {
  const report: FeedbackReport = { stored: 0, duplicates: 0, unmatched: 0, mismatched: 0 };
  const alerts: AlertRow[] = [];
  if (guard && events.length === 0 && !(await withTransaction(deps.pool, guard))) return null;
  for (const [i, event] of events.entries()) {
    const outcome = await withTransaction(deps.pool, async (db) => {
      if (i === 0 && guard && !(await guard(db))) return 'refused' as const;
      return applyOne(deps, db, event, alerts);
    });
    if (outcome === 'refused') return null;
    report[outcome]++;
  }
  for (const alert of alerts) await notifyAlert(deps.config.ALERT_WEBHOOK_URL, deps.log, alert);
  return report;
}

/** Does the event fit the send it names: its provider account, its recipient, its message id? */
function verdictFor(deps: FeedbackDeps, event: FeedbackEvent, send: EventSend) {
  return matchEventToSend(event, {
    recipient: send.leadEmail,
    providerMessageId: send.providerMessageId,
    messageIdHeader: send.messageIdHeader,
    accounts: send.accounts.map((a) => ({ kind: a.kind, config: () => deps.box.open<{ domain?: unknown; region?: unknown }>(a.configSealed) })),
  });
}

async function applyOne(deps: FeedbackDeps, db: PoolClient, event: FeedbackEvent, alerts: AlertRow[]): Promise<keyof FeedbackReport> {
  const named = await findSendForEvent(db, event);
  const verdict = named ? verdictFor(deps, event, named) : null;
  const send = verdict?.ok ? named : null;
  const stored = await insertEvent(db, event, { clientId: send?.clientId ?? null, sendId: send?.id ?? null });
  if (!stored) return 'duplicates';
  if (named && verdict && !verdict.ok) {
    // Ids only: the recipient the event names is in the stored payload, not in the log.
    deps.log.warn(
      { provider: event.provider, type: event.type, eventId: event.eventId, sendId: named.id, clientId: named.clientId, reason: verdict.reason },
      'provider event does not match its send; ignored',
    );
    return 'mismatched';
  }
  if (!send) {
    deps.log.info({ provider: event.provider, type: event.type }, 'provider event matches no send; stored only');
    return 'unmatched';
  }
  await applyMatchedFeedback(deps, db, event, send, alerts);
  return 'stored';
}

/** What the send a feedback event is about needs from it (db/repositories/events.ts EventSend). */
export type FeedbackSend = Pick<EventSend, 'id' | 'clientId' | 'campaignId' | 'leadId' | 'mailboxId' | 'status' | 'leadEmail'>;

/**
 * What a stored feedback event does to the send it matched, in the caller's
 * transaction: the send settled, the lead stopped, the address suppressed
 * for the send's client, and a bounce or complaint told to the mailbox's
 * workflow with the verdict on its rates. Provider webhooks and inbound DSNs
 * (services/inbound/ingest.ts) alike come through here.
 */
export async function applyMatchedFeedback(
  deps: FeedbackDeps,
  db: PoolClient,
  event: { provider: string; eventId: string; type: FeedbackEvent['type'] },
  send: FeedbackSend,
  alerts: AlertRow[],
): Promise<void> {
  const next = sendStatusAfter(send.status, event.type);
  if (next) await setSendStatusFromEvent(db, send.id, next);

  const leadStatus = leadStatusAfter(event.type);
  if (leadStatus) {
    await db.query(
      `UPDATE leads SET status = $2, next_due_at = NULL WHERE id = $1 AND status IN ('pending', 'active', 'done', 'held')`,
      [send.leadId, leadStatus],
    );
  }
  const reason = suppressionReasonOf(event.type);
  if (reason) await suppress(db, send.clientId, send.leadEmail, reason);

  const outcome = mailboxOutcomeOf(event.type);
  if (outcome && send.mailboxId) {
    const judged = await judgeMailboxFeedback(
      { temporal: deps.temporal, rule: mailboxRuleFromConfig(deps.config), log: deps.log },
      db,
      { mailboxId: send.mailboxId, clientId: send.clientId, outcome, requestId: `feedback:${event.provider}:${event.eventId}` },
    );
    alerts.push(...judged.alerts);
  }
  deps.log.info({ provider: event.provider, type: event.type, sendId: send.id, clientId: send.clientId, campaignId: send.campaignId }, 'provider event applied');
}
