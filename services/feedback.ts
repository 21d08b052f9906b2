import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Pool, PoolClient } from 'pg';
import { notifyAlert, recordAlert, type AlertLogger } from '../core/alerts';
import type { Config } from '../core/config';
import type { SecretBox } from '../core/crypto';
import { matchEventToSend } from '../core/webhooks/event-match';
import type { FeedbackEvent } from '../core/webhooks/events';
import {
  assessMailboxRates,
  leadStatusAfter,
  mailboxOutcomeOf,
  sendStatusAfter,
  suppressionReasonOf,
  type RateVerdict,
} from '../core/webhooks/feedback-rules';
import type { AlertRow } from '../db/repositories/alerts';
import { lastAlertAt } from '../db/repositories/alerts';
import { findSendForEvent, insertEvent, mailboxFeedbackCounts, setSendStatusFromEvent, type EventSend } from '../db/repositories/events';
import { suppress } from '../db/repositories/suppressions';
import { mailboxWorkflowId } from '../workflows/ids';
import { reportOutcomeSignal } from '../workflows/mailbox.workflow';

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

export const RATE_ALERT_KINDS = ['mailbox_bounce_rate', 'mailbox_complaint_rate'];

/**
 * Applies verified provider events, each in its own transaction: the event
 * is stored once (a provider event id seen before is skipped whole), the
 * send is settled, the lead stopped, the address suppressed for the send's
 * client, and a bounce or complaint goes to the mailbox workflow with the
 * feedback loop's verdict on the mailbox's rates. `guard` runs first in the
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
  if (guard && events.length === 0 && !(await inTransaction(deps.pool, guard))) return null;
  for (const [i, event] of events.entries()) {
    const outcome = await inTransaction(deps.pool, async (db) => {
      if (i === 0 && guard && !(await guard(db))) return 'refused' as const;
      return applyOne(deps, db, event, alerts);
    });
    if (outcome === 'refused') return null;
    report[outcome]++;
  }
  for (const alert of alerts) await notifyAlert(deps.config.ALERT_WEBHOOK_URL, deps.log, alert);
  return report;
}

async function inTransaction<T>(pool: Pool, fn: (db: PoolClient) => Promise<T>): Promise<T> {
  const db = await pool.connect();
  try {
    await db.query('BEGIN');
    const out = await fn(db);
    await db.query('COMMIT');
    return out;
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    db.release();
  }
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
      `UPDATE leads SET status = $2, next_due_at = NULL WHERE id = $1 AND status IN ('pending', 'active', 'done')`,
      [send.leadId, leadStatus],
    );
  }
  const reason = suppressionReasonOf(event.type);
  if (reason) await suppress(db, send.clientId, send.leadEmail, reason);

  const outcome = mailboxOutcomeOf(event.type);
  if (outcome && send.mailboxId) {
    const verdict = await judgeMailbox(deps, db, send.mailboxId, send.clientId, alerts);
    await tellMailbox(deps, db, send.mailboxId, {
      requestId: `feedback:${event.provider}:${event.eventId}`,
      outcome,
      ...(verdict && verdict.cooldownMs > 0 ? { retryAfterMs: verdict.cooldownMs } : {}),
    });
  }
  deps.log.info({ provider: event.provider, type: event.type, sendId: send.id, clientId: send.clientId, campaignId: send.campaignId }, 'provider event applied');
}

/**
 * Rates over the mailbox's mails since the window start or its last rate
 * alert (whichever is later: a spike starts a new sample). Serialised per
 * mailbox so two webhooks cannot raise the same alert twice.
 */
async function judgeMailbox(deps: FeedbackDeps, db: PoolClient, mailboxId: string, clientId: string, alerts: AlertRow[]): Promise<RateVerdict> {
  const c = deps.config;
  await db.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`mailbox-feedback:${mailboxId}`]);
  const windowStart = new Date(Date.now() - c.MAILBOX_FEEDBACK_WINDOW_HOURS * 3_600_000);
  const last = await lastAlertAt(db, 'mailbox', mailboxId, RATE_ALERT_KINDS);
  const since = last && last > windowStart ? last : windowStart;
  const counts = await mailboxFeedbackCounts(db, mailboxId, since);
  const verdict = assessMailboxRates(counts, {
    bounceThreshold: c.MAILBOX_BOUNCE_THRESHOLD,
    complaintThreshold: c.MAILBOX_COMPLAINT_THRESHOLD,
    minSample: c.MAILBOX_FEEDBACK_MIN_SAMPLE,
    bounceCooldownHours: c.MAILBOX_BOUNCE_COOLDOWN_HOURS,
    complaintCooldownHours: c.MAILBOX_COMPLAINT_COOLDOWN_HOURS,
  });
  for (const crossed of verdict.crossed) {
    const isBounce = crossed === 'bounce_rate';
    const rate = isBounce ? verdict.bounceRate : verdict.complaintRate;
    const threshold = isBounce ? c.MAILBOX_BOUNCE_THRESHOLD : c.MAILBOX_COMPLAINT_THRESHOLD;
    const hours = isBounce ? c.MAILBOX_BOUNCE_COOLDOWN_HOURS : c.MAILBOX_COMPLAINT_COOLDOWN_HOURS;
    const n = isBounce ? counts.bounced : counts.complained;
    alerts.push(
      await recordAlert(db, deps.log, {
        clientId,
        kind: isBounce ? 'mailbox_bounce_rate' : 'mailbox_complaint_rate',
        subjectType: 'mailbox',
        subjectId: mailboxId,
        message:
          `mailbox ${mailboxId}: ${isBounce ? 'bounce' : 'complaint'} rate ${(rate * 100).toFixed(2)}% ` +
          `(${n} of ${counts.sent} sends) is above ${(threshold * 100).toFixed(2)}%; cooling down for ${hours} h`,
      }),
    );
  }
  return verdict;
}

/** Signals mailbox-<address>; a mailbox without a running workflow is not an error here. */
async function tellMailbox(
  deps: FeedbackDeps,
  db: PoolClient,
  mailboxId: string,
  report: { requestId: string; outcome: 'bounced' | 'complained'; retryAfterMs?: number },
): Promise<void> {
  const { rows } = await db.query<{ address: string }>('SELECT address FROM mailboxes WHERE id = $1', [mailboxId]);
  const address = rows[0]?.address;
  if (!address) return;
  try {
    await deps.temporal.connection.withDeadline(Date.now() + 10_000, () =>
      deps.temporal.workflow.getHandle(mailboxWorkflowId(address)).signal(reportOutcomeSignal, report),
    );
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) {
      deps.log.info({ mailboxId }, 'no mailbox workflow to report the outcome to');
      return;
    }
    throw err; // the transaction rolls back and the provider retries the webhook
  }
}
