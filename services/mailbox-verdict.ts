import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { PoolClient } from 'pg';
import { recordAlert, type AlertLogger } from './alerts';
import type { Config } from '../core/config';
import type { AlertRow } from '../db/repositories/alerts';
import { mailboxAddress, mailboxSample } from '../db/repositories/reputation';
import { mailboxWorkflowId } from '../workflows/ids';
import { reportOutcomeSignal } from '../workflows/messages/mailbox';
import { describeBreach, judgeMailbox, type MailboxJudgement, type MailboxRuleSettings } from '../workflows/policy/mailbox-reputation';

export interface MailboxVerdictDeps {
  temporal: Client;
  /** The one reputation rule's settings (mailboxRuleFromConfig). */
  rule: MailboxRuleSettings;
  log: AlertLogger & { info(obj: object, msg: string): void };
}

export interface MailboxFeedback {
  mailboxId: string;
  clientId: string | null;
  outcome: 'bounced' | 'complained';
  /** Names the report to the workflow (one per event: `feedback:ses:<event id>`, `send-time:<send id>`). */
  requestId: string;
}

const HOUR_MS = 3_600_000;

/** The rule's settings from the environment: the API, the worker's send activity and its controller all read these. */
export function mailboxRuleFromConfig(c: Config): MailboxRuleSettings {
  return {
    bounceMax: c.MAILBOX_BOUNCE_THRESHOLD,
    complaintMax: c.MAILBOX_COMPLAINT_THRESHOLD,
    confidence: c.MAILBOX_RATE_CONFIDENCE,
    minBounces: c.MAILBOX_MIN_BOUNCES,
    minComplaints: c.MAILBOX_MIN_COMPLAINTS,
    windowMs: c.MAILBOX_FEEDBACK_WINDOW_HOURS * HOUR_MS,
    bounceCooldownMs: c.MAILBOX_BOUNCE_COOLDOWN_HOURS * HOUR_MS,
    complaintCooldownMs: c.MAILBOX_COMPLAINT_COOLDOWN_HOURS * HOUR_MS,
  };
}

const hours = (ms: number) => `${Math.round((ms / HOUR_MS) * 10) / 10} h`;

/**
 * Asked after a hard bounce or a complaint was recorded on one of the
 * mailbox's sends, in the caller's transaction `db` (whatever recorded it: a
 * provider webhook, a DSN, a permanent rejection at send time). Judges the
 * mailbox's sample with the one reputation rule, serialised per mailbox; each
 * breached rate is an alert naming the mailbox, the rate and the sample (a
 * row in this transaction, returned for the caller to notify after commit;
 * the alert also ends the sample, so the next verdict is taken on sends
 * after it). The mailbox workflow hears the outcome, with the cooldown when
 * there is one. A mailbox without a running workflow is not an error; any
 * other failure to tell it throws, and the caller's transaction rolls back.
 */
export async function judgeMailboxFeedback(
  deps: MailboxVerdictDeps,
  db: PoolClient,
  feedback: MailboxFeedback,
): Promise<{ judgement: MailboxJudgement; alerts: AlertRow[] }> {
  const { mailboxId, clientId } = feedback;
  await db.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`mailbox-feedback:${mailboxId}`]);
  const sample = await mailboxSample(db, mailboxId, deps.rule.windowMs);
  const judgement = judgeMailbox(sample, deps.rule);
  const alerts: AlertRow[] = [];
  for (const breach of judgement.breaches) {
    const cooldown = breach.signal === 'bounce' ? deps.rule.bounceCooldownMs : deps.rule.complaintCooldownMs;
    alerts.push(
      await recordAlert(db, deps.log, {
        clientId,
        kind: breach.signal === 'bounce' ? 'mailbox_bounce_rate' : 'mailbox_complaint_rate',
        subjectType: 'mailbox',
        subjectId: mailboxId,
        message: `mailbox ${mailboxId}: ${describeBreach(breach, deps.rule.confidence)}; cooling down for ${hours(cooldown)}`,
      }),
    );
  }
  await tellMailbox(deps, db, mailboxId, {
    requestId: feedback.requestId,
    outcome: feedback.outcome,
    ...(judgement.cooldownMs > 0 ? { retryAfterMs: judgement.cooldownMs } : {}),
  });
  return { judgement, alerts };
}

/** Signals mailbox-<address>; a mailbox without a running workflow is not an error here. */
async function tellMailbox(
  deps: MailboxVerdictDeps,
  db: PoolClient,
  mailboxId: string,
  report: { requestId: string; outcome: 'bounced' | 'complained'; retryAfterMs?: number },
): Promise<void> {
  const address = (await mailboxAddress(db, mailboxId))?.address;
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
    throw err;
  }
}
