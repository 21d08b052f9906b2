import { ApplicationFailure, Context } from '@temporalio/activity';
import { messageHeaderProblem } from '../core/mail-headers';
import { appendFooter } from '../core/template/footer';
import { buildTemplateVars, renderEmail } from '../core/template/render';
import { trackHtml } from '../core/tracking/rewrite';
import { trackingBase, trackingPlan } from '../core/tracking/urls';
import { listUnsubscribeHeaders, makeUnsubscribeToken } from '../core/unsubscribe';
import { getCampaignById } from '../db/repositories/campaigns';
import { getClient } from '../db/repositories/clients';
import { advanceLead, claimWork, threadOf } from '../db/repositories/lead-work';
import { getLeads, setLeadStatus, type LeadRecord } from '../db/repositories/leads';
import { markErasedLeads } from './erased-leads';
import { getMailboxById } from '../db/repositories/mailboxes';
import { claimSend, markSendStatus, markSent } from '../db/repositories/sends';
import { setTrackedLinks } from '../db/repositories/engagements';
import { getCampaignTemplate } from '../db/repositories/templates';
import { SEND_FAILURE_TYPES } from '../workflows/send-failures';
import type { ActivityDeps } from './deps';
import { FailoverSender } from './providers/failover';
import { configurationSetFor } from '../db/repositories/domains';
import { claimFirstStepWithinQuota, newLeadQuota } from '../db/repositories/campaign-quota';
import { ProviderSendError, type OutgoingMessage } from './providers/types';
import { recordSendTimeBounce } from './send-time-bounce';
import { stepTemplateFor } from '../services/step-variants';
import { previewOf } from './dry-run-preview';
import { recordDryRun } from '../db/repositories/staging';

export interface SendStepInput {
  campaignId: string;
  leadId: string;
  step: number;
  mailboxId: string;
  /** The slot the mailbox granted (epoch ms), recorded with the send. */
  slotAt?: number;
  /**
   * The lane's clock (its workflow's Date.now(), epoch ms) when it asked for
   * this send: the send's instants (intent, sent_at, the next step's due
   * time, the new-lead quota's day) are read on it, advanced by the time this
   * attempt has taken. The process and database clocks when omitted.
   */
  now?: number;
}

export type SendStepResult =
  | { status: 'sent'; sendId: string; providerMessageId: string; providerAccountId: string; replayed: boolean }
  | { status: 'unknown' | 'failed' | 'skipped'; sendId: string | null; reason: string }
  /** The provider asked us to slow down: nothing was sent; report it to the mailbox and ask for a new slot. */
  | { status: 'throttled'; sendId: string; reason: string; retryAfterMs: number | null }
  /** The campaign is not running (paused or cancelled): nothing was claimed or sent; the lead stays queued. */
  | { status: 'paused'; sendId: string | null; reason: string }
  /** limits.newLeadsPerDay is used up for today: nothing was claimed or sent; the lead stays queued until retryAt. */
  | { status: 'deferred'; sendId: null; reason: string; retryAt: number }
  /** A dry run (campaigns.run_mode): recorded with its rendered message; no provider was called. */
  | { status: 'dry_run'; sendId: string };

export interface SendBatchInput {
  campaignId: string;
  mailboxId: string;
  /** The reservation (reserveBatch's requestId); slot i is batchSlotId(requestId, i). */
  requestId: string;
  /** Granted slot times (epoch ms), earliest first: one lead each, none earlier than its slot. */
  slots: number[];
  /**
   * The lane's clock (its workflow's Date.now(), epoch ms) when it started the
   * batch: what is due and when each slot comes are read on it, advanced by
   * the real time the batch has taken, so a slot is sent when the lane's
   * clock reaches it (its offset from now), however far the workflow clock
   * is from the process clock (a time-skipping test server). The process and
   * database clocks when omitted (callers recorded before it).
   */
  now?: number;
}

export interface SendBatchOutput {
  /** Outcome per slot, in order; slots after the last entry were not used (no lead, or the batch stopped). */
  results: SendStepResult['status'][];
  /** retryAfterMs of a throttled result, by slot index. */
  retryAfterMs?: Record<number, number>;
  /** The slot the batch stopped on with a failure: the workflow retries that lead alone or acts on the type. */
  stopped?: { index: number; leadId: string; step: number; type: string; message: string; retryAfterMs?: number };
}

/** What every send of one batch shares, loaded once. */
interface BatchContext {
  campaign: NonNullable<Awaited<ReturnType<typeof getCampaignById>>>;
  mailbox: NonNullable<Awaited<ReturnType<typeof getMailboxById>>>;
  /** The SES configuration set (IP pool) of the mailbox's domain today, per the daily rotation. */
  configurationSet: string | null;
  leads: Map<string, LeadRecord & { suppressed: boolean }>;
  templates: Map<string, Awaited<ReturnType<typeof getCampaignTemplate>>>;
  clients: Map<string, Awaited<ReturnType<typeof getClient>>>;
}

/**
 * A clock that starts at `now` (a lane's workflow time when it scheduled the
 * activity) and runs at the process clock's rate; undefined without `now`
 * (the process's and the database's own clocks stay in use). A retry starts
 * it later by as much as the server's clock moved between the first attempt
 * and this one, so a retried batch does not read a stale instant.
 */
function laneClock(now: number | undefined): (() => number) | undefined {
  if (now === undefined) return undefined;
  const info = Context.current().info;
  const retriedAfter = Math.max(0, (info.currentAttemptScheduledTimestampMs ?? 0) - (info.scheduledTimestampMs ?? 0));
  const base = now + retriedAfter;
  const started = Date.now();
  return () => base + (Date.now() - started);
}

export function sendStepActivities(deps: ActivityDeps) {
  const { pool, providers, logger } = deps;
  const sender = new FailoverSender(pool, providers, logger, deps.breaker);
  const atLeastOnce = deps.deliveryGuarantee === 'at-least-once';

  async function loadContext(campaignId: string, mailboxId: string, leadIds: string[]): Promise<BatchContext> {
    const [leads, campaign, mailbox] = await Promise.all([
      getLeads(pool, leadIds).then((leads) => markErasedLeads(pool, deps.privacyKey, leads)),
      getCampaignById(pool, campaignId),
      getMailboxById(pool, mailboxId),
    ]);
    if (!campaign || !mailbox) throw ApplicationFailure.nonRetryable('campaign or mailbox vanished', 'NotFound');
    const configurationSet = await configurationSetFor(pool, mailbox.address, mailbox.clientId);
    return { campaign, mailbox, configurationSet, leads: new Map(leads.map((l) => [l.id, l])), templates: new Map(), clients: new Map() };
  }

  /**
   * Sends one lead's step: the intent row first, then the provider, then the
   * outcome. Throws an ApplicationFailure typed from SEND_FAILURE_TYPES for
   * what Temporal should retry (or not).
   */
  async function sendOne(ctx: BatchContext, input: SendStepInput, clock?: () => number): Promise<SendStepResult> {
    const { campaign, mailbox } = ctx;
    const log = logger.child({ campaignId: input.campaignId, mailboxId: input.mailboxId, step: input.step });
    const lead = ctx.leads.get(input.leadId);
    if (!lead) throw ApplicationFailure.nonRetryable('lead vanished', 'NotFound');
    if (['suppressed', 'unsubscribed', 'bounced', 'complained', 'replied', 'failed'].includes(lead.status)) {
      return { status: 'skipped', sendId: null, reason: `lead ${lead.status}` };
    }
    if (lead.suppressed) {
      // Suppressed after the upload (a bounce, complaint or unsubscribe elsewhere): counted, never sent.
      await setLeadStatus(pool, lead.id, 'suppressed', ['pending', 'active']);
      return { status: 'skipped', sendId: null, reason: 'lead suppressed' };
    }
    const stepDef = campaign.steps[input.step];
    if (!stepDef) throw ApplicationFailure.nonRetryable(`campaign has no step ${input.step}`, 'NotFound');
    // A staged start's sample stage holds each sample lead's next step until the approval.
    const advance = () =>
      advanceLead(pool, lead.id, input.step, campaign.steps[input.step + 1]?.delayDays ?? null, clock?.(), campaign.stage === 'sample');

    // Intent first: the unique (lead, step) row is written before any provider is called.
    const key = { clientId: lead.clientId, campaignId: input.campaignId, leadId: input.leadId, step: input.step, mailboxId: input.mailboxId };
    const at = clock?.();
    const claimOpts = { reclaimInterrupted: atLeastOnce, ...(at !== undefined ? { at } : {}) };
    const claim = input.step === 0 && campaign.limits?.newLeadsPerDay !== undefined
      ? await claimFirstStepWithinQuota(pool, key, claimOpts, at ?? Date.now())
      : await claimSend(pool, key, claimOpts);
    if ('deferred' in claim) return { status: 'deferred', sendId: null, reason: 'new leads per day reached', retryAt: claim.retryAt };
    const { claimed, row } = claim;
    if (!claimed) {
      if (row === null || row.status === 'pending' || (atLeastOnce && row.status === 'sending')) {
        // Claimable but not claimed: the campaign is paused or cancelled.
        return { status: 'paused', sendId: row?.id ?? null, reason: 'campaign not running' };
      }
      // Another attempt owns or finished this (lead, step): settle the lead from the stored outcome.
      if (row.status === 'dry_run') {
        await advance();
        return { status: 'dry_run', sendId: row.id };
      }
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

    // The step's template, or the lead's A/B variant (recorded on the send: a retry renders the same one).
    const templateId = await stepTemplateFor(pool, logger, { clientId: lead.clientId, campaignId: input.campaignId, leadId: lead.id, step: input.step, stepDef, sendId: row.id });
    // The version the campaign pinned at its start: an edit of the template since then does not reach this campaign.
    if (!ctx.templates.has(templateId)) {
      ctx.templates.set(templateId, await getCampaignTemplate(pool, lead.clientId, templateId, campaign.templateVersions));
    }
    if (!ctx.clients.has(lead.clientId)) ctx.clients.set(lead.clientId, await getClient(pool, lead.clientId));
    const template = ctx.templates.get(templateId);
    const client = ctx.clients.get(lead.clientId);
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
    // Opens and clicks, when the campaign asked for them: HTML bodies only (the text body keeps its links).
    const { opens, clicks } = campaign.tracking;
    const tracked = body.html && deps.trackingKey && (opens || clicks)
      ? trackHtml(body.html, trackingPlan({
          key: deps.trackingKey, base: trackingBase(deps.publicBaseUrl, client.tracking_domain),
          clientId: lead.clientId, sendId: row.id, opens, clicks, unsubscribeUrl,
        }))
      : null;
    if (tracked) body.html = tracked.html;
    const message: OutgoingMessage = {
      from: { address: mailbox.address, name: mailbox.displayName ?? undefined },
      to: lead.email,
      subject: rendered.subject,
      text: body.text,
      html: body.html,
      messageId: `<${row.id}@${domain}>`,
      correlationId: row.id,
      headers: listUnsubscribeHeaders(deps.publicBaseUrl, token),
      ...(ctx.configurationSet ? { configurationSet: ctx.configurationSet } : {}),
    };
    if (input.step > 0) {
      // A follow-up answers the earlier steps in the same thread.
      const thread = await threadOf(pool, lead.id, input.step);
      if (thread.length) {
        message.inReplyTo = thread[thread.length - 1];
        message.references = thread;
      }
    }

    // Defence in depth (the API refuses these where they enter): nothing that could split a header goes to a
    // provider. The mailbox's display name is the mailbox's fault: it pauses, and the lead waits for another
    // mailbox. Anything else (the subject as rendered for this lead) fails this lead's send for good.
    const unsafe = messageHeaderProblem(message);
    if (unsafe?.field === 'from.name') {
      const reason = `mailbox display name ${unsafe.problem}; not sent`;
      log.warn({ sendId: row.id }, reason);
      await markSendStatus(pool, row.id, 'pending', reason);
      throw ApplicationFailure.nonRetryable(reason, SEND_FAILURE_TYPES.senderMisconfigured);
    }
    if (unsafe) {
      const reason = `${unsafe.field} ${unsafe.problem}; not sent`;
      log.warn({ sendId: row.id }, reason);
      await markSendStatus(pool, row.id, 'failed', reason);
      await setLeadStatus(pool, lead.id, 'failed', ['pending', 'active']);
      return { status: 'failed', sendId: row.id, reason };
    }

    // A click redirects only to a link stored here, so they are stored before the mail can go out.
    if (tracked?.links.length) await setTrackedLinks(pool, row.id, tracked.links);

    if (mailbox.providerIds.length === 0) {
      await markSendStatus(pool, row.id, 'pending', 'mailbox has no provider');
      throw ApplicationFailure.nonRetryable('mailbox has no provider', SEND_FAILURE_TYPES.senderMisconfigured);
    }
    if (campaign.runMode === 'dry-run') {
      // The whole path up to here ran as real; no provider is called. The message is kept as the preview.
      await recordDryRun(pool, {
        sendId: row.id, clientId: lead.clientId, campaignId: input.campaignId, message: previewOf(message),
        messageIdHeader: message.messageId, ...(input.slotAt !== undefined ? { slotAt: input.slotAt } : {}), ...(clock ? { at: clock() } : {}),
      });
      await advance();
      return { status: 'dry_run', sendId: row.id };
    }
    let result: Awaited<ReturnType<FailoverSender['send']>>;
    try {
      // A failover within the attempt makes two provider calls: heartbeat between them (a batch's timeout is per item).
      result = await sender.send(mailbox.providerIds, message, `${row.id}:${row.attempts}`, () => Context.current().heartbeat());
    } catch (err) {
      if (!(err instanceof ProviderSendError)) {
        await markSendStatus(pool, row.id, 'pending', String((err as Error).message));
        throw err;
      }
      const accountId = err.accountId;
      log.warn({ sendId: row.id, errorClass: err.errorClass, providerId: accountId }, 'send failed');
      switch (err.errorClass) {
        case 'recipient_invalid':
          // A hard bounce: recorded, suppressed and judged like one a provider reports later. To the lane it is a
          // failed send (the slot was used; the lead gets no further step).
          await recordSendTimeBounce(deps, {
            sendId: row.id, clientId: lead.clientId, campaignId: input.campaignId, leadId: lead.id, mailboxId: input.mailboxId, email: lead.email,
            ...(clock ? { at: clock() } : {}),
          }, err);
          return { status: 'failed', sendId: row.id, reason: `hard bounce at send time: ${err.message}` };
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
          await advance();
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
      messageIdHeader: result.messageIdHeader, // what the recipient received: later steps name it
      slotAt: input.slotAt,
      ...(clock ? { sentAt: clock() } : {}),
    });
    await advance();
    log.debug({ sendId: row.id, provider: result.providerName }, 'sent'); // the sends row is the record; info is per batch
    return { status: 'sent', sendId: row.id, providerMessageId: result.providerMessageId, providerAccountId: result.accountId, replayed: false };
  }


  async function sendStep(input: SendStepInput): Promise<SendStepResult> {
    const clock = laneClock(input.now);
    const ctx = await loadContext(input.campaignId, input.mailboxId, [input.leadId]);
    return sendOne(ctx, input, clock);
  }

  /**
   * Claims one lead per granted slot (its own due work first, then unassigned
   * leads) and sends them in order, each not before its slot, in one activity
   * (one round trip instead of one per send). It stops at the first send that
   * needs Temporal's retry or the workflow's attention (a failure, a throttle,
   * a paused campaign); later slots go unused. A retry of the whole batch is
   * safe: it claims again, and sent leads are no longer pending.
   */
  async function sendBatch(input: SendBatchInput): Promise<SendBatchOutput> {
    const clock = laneClock(input.now);
    const now = clock ?? (() => Date.now());
    const quota = await newLeadQuota(pool, input.campaignId, now());
    const work = await claimWork(pool, input.campaignId, input.mailboxId, input.slots.length, quota ? quota.remaining : null, clock?.());
    const ctx = await loadContext(input.campaignId, input.mailboxId, work.map((w) => w.leadId));
    const out: SendBatchOutput = { results: [] };
    const activity = Context.current();
    for (const [i, w] of work.entries()) {
      const slotAt = input.slots[i]!;
      const wait = slotAt - now(); // on the lane's clock: the slot's offset from the batch's start
      if (wait > 0) await activity.sleep(wait);
      activity.heartbeat(i);
      let result: SendStepResult;
      try {
        result = await sendOne(ctx, { campaignId: input.campaignId, mailboxId: input.mailboxId, leadId: w.leadId, step: w.step, slotAt }, clock);
      } catch (err) {
        if (!(err instanceof ApplicationFailure)) throw err;
        out.stopped = { index: i, leadId: w.leadId, step: w.step, type: err.type ?? 'Error', message: err.message };
        // The provider's (or the breakers') hint for when to try again; the workflow may wait this instead of its fixed pause.
        if (typeof err.nextRetryDelay === 'number') out.stopped.retryAfterMs = err.nextRetryDelay;
        return out;
      }
      out.results.push(result.status);
      if (result.status === 'throttled') {
        if (result.retryAfterMs !== null) out.retryAfterMs = { ...out.retryAfterMs, [i]: result.retryAfterMs };
        break;
      }
      if (result.status === 'paused' || result.status === 'deferred') break;
    }
    const tally: Record<string, number> = {};
    for (const r of out.results) tally[r] = (tally[r] ?? 0) + 1;
    logger.info({ campaignId: input.campaignId, mailboxId: input.mailboxId, slots: input.slots.length, ...tally }, 'batch done');
    return out;
  }

  return { sendStep, sendBatch };
}
