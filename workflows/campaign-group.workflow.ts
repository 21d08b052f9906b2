import {
  allHandlersFinished,
  ApplicationFailure,
  type ActivityOptions,
  condition,
  makeContinueAsNewFunc,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ReserveBatchResult } from '../activities/reserve-slot.activity';
import type { SendBatchOutput, SendStepResult } from '../activities/send-step.activity';
import { mailboxWorkflowId } from './ids';
import { LONG_RUN_TASK_TIMEOUT } from './run-limits';
import { batchSlotId, reportOutcomesSignal, type BatchOutcomes, type OutcomeReport } from './messages/mailbox';
import {
  groupControlSignal,
  groupProgressQuery,
  waitReasonOf,
  type CampaignGroupInput,
  type CampaignGroupResult,
  type LaneEnd,
  type LaneMailbox,
  type LaneView,
  type ParkedLane,
  type WaitReason,
} from './messages/campaign';
import { SEND_FAILURE_TYPES } from './send-failures';
import { sendSummary } from './summaries';

const data = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 10, initialInterval: '1 second', maximumInterval: '1 minute' },
});

// A reservation is one database read and one Update on the mailbox workflow. On a
// loaded worker (10,000 mailboxes on 2 cores) that Update can take more than 10 s
// to be picked up; it is idempotent (request id = Update id), but a timeout that
// fires first only repeats the work, so allow 30 s.
const slots = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 8, nonRetryableErrorTypes: ['MailboxNotRunning'] },
});

const SEND_RETRY_INITIAL_MS = 5_000;

const SEND_OPTIONS: ActivityOptions = {
  // Above two of the adapters' 30 s request timeouts (a send may fail over within its attempt); short enough that a crashed worker's sends are retried soon.
  startToCloseTimeout: '75 seconds',
  retry: {
    initialInterval: SEND_RETRY_INITIAL_MS,
    backoffCoefficient: 2,
    maximumInterval: '10 minutes',
    maximumAttempts: 8, // capped: a send never retries forever
    nonRetryableErrorTypes: ['SenderMisconfigured', 'NotFound'],
  },
};
const sends = proxyActivities<Activities>(SEND_OPTIONS);

/**
 * A batch of sends: each item is handled within the adapters' 30 s timeout
 * and heartbeats, so a crashed worker's batch is retried after 75 s (sent
 * items replay, an interrupted one is marked unknown). Failures that are not
 * a provider's answer (the database) retry a few times, then each item is
 * sent alone under the send policy above.
 */
const BATCH_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '75 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5 },
};
const batches = proxyActivities<Activities>(BATCH_OPTIONS);

/** After a batch failed for a reason no provider gave (the database), its lane waits this long. */
const BATCH_FAILURE_PAUSE_MS = 30_000;
/** Most slots a lane reserves (and leads it claims) at once. */
const BATCH_MAX = 50;
/** Slots after the first join a batch only if they fall this close to it (a paced mailbox grants one). */
const BATCH_WITHIN_MS = 5_000;
/**
 * A lane holds a granted slot up to this far ahead and sleeps until it (one
 * reservation per paced send: the default 72 s interval with its jitter fits).
 * A slot further away (window closed, cap reached) is given back and asked for again then.
 */
export const HOLD_SLOT_MAX_MS = 5 * 60_000;
/** A lane whose mailbox cannot send for longer than this gives its unsent new leads back to the other lanes. */
const RELEASE_SHARE_AFTER_MS = 15 * 60_000;
/** The patch under which a batch's plain outcomes ride on the lane's next reservation. */
export const REPORT_WITH_RESERVATION_PATCH = 'report-with-reservation';
/**
 * A group continues as new at this many events even if the server has not
 * suggested it yet. A worker without the run in its cache replays it all in
 * one workflow task, at about 1.4 ms an event on a quiet 2-core machine
 * (a 5,082-event run: 7.2 s), so runs stay short enough to replay well inside
 * the task timeout on a loaded worker.
 */
export const GROUP_MAX_EVENTS = 2_000;
/** Runs recorded before GROUP_SHORT_RUNS_PATCH continued as new at this many events. */
export const LEGACY_GROUP_MAX_EVENTS = 5_000;
/**
 * The patch under which a group continues as new at GROUP_MAX_EVENTS (before:
 * LEGACY_GROUP_MAX_EVENTS) without waking its sleeping lanes: a lane asleep
 * stays asleep and the next run carries its sleep over (ParkedLane), a lane
 * holding a slot sends it first, and a lane's unheard outcomes ride on its
 * next reservation in the next run. Before, every sleeping lane was woken
 * (its timer cancelled) and gave its slots back.
 */
export const GROUP_SHORT_RUNS_PATCH = 'group-short-runs';

type MailboxHandle = ReturnType<typeof getExternalWorkflowHandle>;

/** The mailbox's workflow is gone or unreachable: this lane's part of the campaign ends. */
class LaneFailed extends Error {}

function failureType(err: unknown): string | undefined {
  return err instanceof ApplicationFailure ? err.type ?? undefined : (err as { cause?: ApplicationFailure }).cause?.type ?? undefined;
}

/**
 * Why a reservation waits, in the campaign's words. The mailbox's reasons are
 * its policy's BlockReason, plus 'campaign_has_slot' and 'beyond_horizon'.
 */
function waitReason(r: Extract<ReserveBatchResult, { kind: 'wait' }>): WaitReason {
  return waitReasonOf(r.reason, r.blockedBy);
}

/**
 * Up to a few dozen lanes of one campaign, one per mailbox: a child of the
 * campaign workflow, so a campaign over 10,000 mailboxes stays inside
 * Temporal's per-workflow limits (pending activities, signals, history).
 *
 * A lane takes its next lead from Postgres (a new lead, or a follow-up that is
 * due), asks its mailbox for a slot (warm-up, caps, interval, window and
 * cooldown live there), sleeps until the slot, sends, and reports the outcome.
 * Every wait is one timer or a signal: a slot far off, a closed window or a cap
 * is slept through on one timer until the mailbox's "try again at"; a lane
 * with nothing to do sleeps until its next follow-up falls due, or ends when
 * none will. Nothing grows while nothing is sent.
 *
 * A fault of one mailbox (its workflow missing or terminated, its
 * reservations or reports failing) ends that lane only: what it held goes to
 * the other mailboxes, an alert names it, and the campaign goes on.
 *
 * Continues as new on the server's suggestion or at GROUP_MAX_EVENTS events, waking
 * any waiting lane to do so.
 */
export async function campaignGroupWorkflow(input: CampaignGroupInput): Promise<CampaignGroupResult> {
  const parking = patched(GROUP_SHORT_RUNS_PATCH);
  const maxEvents = parking ? GROUP_MAX_EVENTS : LEGACY_GROUP_MAX_EVENTS;
  /** Lanes asleep on a timer that a continue-as-new carries over rather than wakes (since GROUP_SHORT_RUNS_PATCH). */
  const parked = new Map<string, ParkedLane>();
  /** Outcomes that lanes which ended for the continue-as-new still owe their mailboxes. */
  const owed: Record<string, BatchOutcomes> = {};
  /** Each running lane's outcomes not yet reported. */
  const pendingOf = new Map<string, { report: BatchOutcomes | null }>();
  let sent = input.sent ?? 0;
  let failed = input.failed ?? 0;
  let activity = input.activity ?? 0;
  let released = input.released ?? 0;
  let inFlight = 0;
  let paused = input.paused;
  let cancelled = false;
  let yielding = false;
  /** Bumped by a wake: idle lanes look for work again, lanes that ended 'done' or 'stopped' restart. */
  let wakes = 0;
  let restartDone = false;
  const ends: Record<string, LaneEnd> = { ...(input.ended ?? {}) };
  const views = new Map<string, LaneView>();
  const view = (mailboxId: string, state: LaneView['state'], until: number | null = null, reason: LaneView['reason'] = null) =>
    views.set(mailboxId, { mailboxId, state, until, reason });

  setHandler(groupControlSignal, (control) => {
    if (control === 'pause') paused = true;
    else if (control === 'resume') paused = false;
    else if (control === 'cancel') cancelled = true;
    else {
      wakes++;
      restartDone = true;
    }
  });
  setHandler(groupProgressQuery, () => ({ sent, failed, inFlight, lanes: [...views.values()] }));

  /**
   * Sleeps until `at` (one timer), or until cancel or (when wakeable) a wake;
   * true when it slept the whole way. A continue-as-new does not wake it:
   * with `lane` given the sleep is parked, carried over to the next run as it
   * is; without, the group waits for it to end. (Runs before
   * GROUP_SHORT_RUNS_PATCH: a continue-as-new woke every sleep.)
   */
  async function sleepUntil(at: number, wakeable: boolean, lane?: { id: string; view: () => LaneView | undefined }): Promise<boolean> {
    const seen = wakes;
    const ms = at - Date.now();
    if (ms <= 0) return true;
    if (!parking) return !(await condition(() => cancelled || yielding || (wakeable && wakes !== seen), ms));
    if (lane) parked.set(lane.id, { until: at, wakeable, view: lane.view() ?? { mailboxId: lane.id, state: 'waiting', until: at, reason: null } });
    try {
      return !(await condition(() => cancelled || (wakeable && wakes !== seen), ms));
    } finally {
      if (lane) parked.delete(lane.id);
    }
  }

  /** Waits out a pause (no timer); false when the campaign was cancelled or the group yields meanwhile. */
  async function whilePaused(): Promise<boolean> {
    if (paused) await condition(() => !paused || cancelled || yielding);
    return !cancelled && !yielding;
  }

  /** Tells the mailbox what became of a batch's slots, in one signal. A mailbox that cannot hear it has left. */
  async function report(handle: MailboxHandle, batchId: string, outcomes: BatchOutcomes['outcomes'], from = 0): Promise<void> {
    if (!outcomes.length) return;
    try {
      await handle.signal(reportOutcomesSignal, { batchId, from, outcomes });
    } catch {
      throw new LaneFailed('its workflow is not running (an outcome report could not be delivered)');
    }
  }

  function count(status: SendStepResult['status']): void {
    // A dry run's send counts as sent (its rehearsal): a counter only, no command, so recorded runs replay alike.
    if (status === 'sent' || status === 'dry_run') sent++;
    else if (status !== 'skipped' && status !== 'paused' && status !== 'throttled' && status !== 'deferred') failed++;
  }

  function outcomeOf(status: SendStepResult['status']): OutcomeReport['outcome'] {
    switch (status) {
      case 'sent':
      case 'unknown': // it may have gone out: count the slot as used
        return 'sent';
      case 'throttled':
        return 'throttled';
      case 'failed':
        return 'failed';
      default:
        return 'skipped'; // skipped lead, paused campaign, new-leads limit reached: the slot was not used
    }
  }

  /** What the Web UI shows for a send activity: campaign, step, mailbox, providers; never the recipient. */
  function summary(mailbox: LaneMailbox, steps: number[] | undefined, slotCount: number): string {
    return sendSummary({
      campaignName: input.name,
      steps: steps ?? [],
      stepCount: input.stepCount,
      mailbox: mailbox.address,
      providers: mailbox.providers ?? [],
      slots: slotCount,
      ...(input.mode ? { mode: input.mode } : {}),
    });
  }

  /** One send on its own, under the full send retry policy (after a batch stopped on it). */
  async function sendAlone(
    mailbox: LaneMailbox,
    handle: MailboxHandle,
    slot: { requestId: string; at: number },
    work: { leadId: string; step: number },
  ): Promise<LaneEnd | null> {
    let result: SendStepResult;
    activity++;
    inFlight++;
    try {
      result = await sends.sendStep.executeWithOptions(
        { ...SEND_OPTIONS, summary: summary(mailbox, [work.step], 1) },
        [{ campaignId: input.campaignId, leadId: work.leadId, step: work.step, mailboxId: mailbox.id, slotAt: slot.at, now: Date.now() }],
      );
      inFlight--;
    } catch (err) {
      inFlight--;
      if (failureType(err) === SEND_FAILURE_TYPES.senderMisconfigured) {
        await report(handle, slot.requestId, [{ outcome: 'sender_misconfigured' }]);
        released += await data.releaseUnsent({ campaignId: input.campaignId, mailboxId: mailbox.id });
        return 'stopped';
      }
      await report(handle, slot.requestId, [{ outcome: 'failed' }]);
      failed++;
      return null;
    }
    await report(handle, slot.requestId, [
      { outcome: outcomeOf(result.status), retryAfterMs: result.status === 'throttled' ? (result.retryAfterMs ?? undefined) : undefined },
    ]);
    count(result.status);
    return null;
  }

  /** Sends a granted batch; returns how the lane ends, or null to go on. */
  async function runBatch(
    mailbox: LaneMailbox,
    handle: MailboxHandle,
    batchId: string,
    granted: number[],
    steps: number[] | undefined,
    defer: (report: BatchOutcomes) => void,
  ): Promise<LaneEnd | null> {
    let out: SendBatchOutput;
    activity++;
    inFlight += granted.length;
    try {
      out = await batches.sendBatch.executeWithOptions(
        { ...BATCH_OPTIONS, summary: summary(mailbox, steps, granted.length) },
        [{ campaignId: input.campaignId, mailboxId: mailbox.id, requestId: batchId, slots: granted, now: Date.now() }],
      );
      inFlight -= granted.length;
    } catch {
      inFlight -= granted.length;
      // It kept failing outside any provider answer (e.g. the database). Its
      // leads stay queued on this mailbox. Some slots may have been used, so
      // they are reported failed (counted unless still ahead); retry later.
      await report(handle, batchId, granted.map(() => ({ outcome: 'failed' as const })));
      await sleepUntil(Date.now() + BATCH_FAILURE_PAUSE_MS, false, { id: mailbox.id, view: () => views.get(mailbox.id) });
      return cancelled ? 'cancelled' : null;
    }
    const outcomes: BatchOutcomes['outcomes'] = out.results.map((status, i) => ({
      outcome: outcomeOf(status),
      retryAfterMs: out.retryAfterMs?.[i],
    }));
    out.results.forEach(count);
    const stopped = out.stopped;
    let retryAlone = false;
    let end: LaneEnd | null = null;
    if (stopped) {
      if (stopped.type === SEND_FAILURE_TYPES.senderMisconfigured) {
        outcomes.push({ outcome: 'sender_misconfigured' });
        end = 'stopped';
      } else if (stopped.type === SEND_FAILURE_TYPES.transient || stopped.type === SEND_FAILURE_TYPES.providerDown) {
        retryAlone = true; // its slot is reported by sendAlone
      } else {
        outcomes.push({ outcome: 'failed' });
        failed++;
      }
    }
    // Slots after the stop (or with no lead to send) were not used.
    const used = outcomes.length + (retryAlone ? 1 : 0);
    const unused = granted.slice(used).map(() => ({ outcome: 'skipped' as const }));
    if (retryAlone) {
      await report(handle, batchId, outcomes);
      await report(handle, batchId, unused, used); // the slots after the retried one
    } else {
      const all = outcomes.concat(unused);
      // Plain outcomes ride on the lane's next reservation (one action less per send); anything the
      // mailbox must act on at once (a throttle, a failure, a stop) is signalled now.
      // (patched: runs recorded before this signalled every batch's outcomes.)
      const plain = !stopped && all.every((o) => (o.outcome === 'sent' || o.outcome === 'skipped') && o.retryAfterMs === undefined);
      if (plain && patched(REPORT_WITH_RESERVATION_PATCH)) {
        defer({ batchId, from: 0, outcomes: all });
      } else {
        await report(handle, batchId, all);
      }
    }
    if (end === 'stopped') {
      released += await data.releaseUnsent({ campaignId: input.campaignId, mailboxId: mailbox.id });
      return end;
    }
    if (retryAlone && stopped) {
      // As the send activity's own retry policy would: a pause first, then Temporal retries with backoff.
      // The failed send's own hint (the soonest breaker probe, a provider's Retry-After), within [1 s, the fixed first pause].
      const pauseMs = Math.min(SEND_RETRY_INITIAL_MS, Math.max(1000, stopped.retryAfterMs ?? SEND_RETRY_INITIAL_MS));
      if (!(await sleepUntil(Date.now() + pauseMs, false)) && cancelled) return 'cancelled';
      const slot = { requestId: batchSlotId(batchId, stopped.index), at: granted[stopped.index]! };
      return sendAlone(mailbox, handle, slot, stopped);
    }
    return null;
  }

  async function laneLoop(mailbox: LaneMailbox, lanePending: { report: BatchOutcomes | null }): Promise<LaneEnd> {
    const handle = getExternalWorkflowHandle(mailboxWorkflowId(mailbox.address));
    const defer = (r: BatchOutcomes) => {
      lanePending.report = r;
    };
    const parkAs = { id: mailbox.id, view: () => views.get(mailbox.id) };
    const resume = input.parked?.[mailbox.id];
    if (resume) {
      // Asleep when the last run continued as new: sleep on, then go on as if it had slept here.
      views.set(mailbox.id, resume.view);
      if (!(await sleepUntil(resume.until, resume.wakeable, parkAs)) && (cancelled || yielding)) return cancelled ? 'cancelled' : 'yield';
    }
    for (let seq = 0; ; seq++) {
      if (parking && yielding && !paused && !cancelled && lanePending.report) {
        // Moving to a new run: the outcomes ride on this lane's first reservation there.
        owed[mailbox.id] = lanePending.report;
        lanePending.report = null;
        return 'yield';
      }
      if ((paused || cancelled || yielding) && lanePending.report) {
        // Not reserving again soon: the mailbox hears the last outcomes now.
        await report(handle, lanePending.report.batchId, lanePending.report.outcomes, lanePending.report.from ?? 0);
        lanePending.report = null;
      }
      if (!(await whilePaused())) return cancelled ? 'cancelled' : 'yield';
      const carried = lanePending.report;
      lanePending.report = null;
      view(mailbox.id, 'reserving');
      let r: ReserveBatchResult;
      try {
        r = await slots.reserveBatch({
          address: mailbox.address,
          mailboxId: mailbox.id,
          campaignId: input.campaignId,
          requestId: `${input.campaignId}:${workflowInfo().runId}:${mailbox.id}:${seq}`,
          max: BATCH_MAX,
          lanes: input.lanes,
          withinMs: BATCH_WITHIN_MS,
          maxWaitMs: HOLD_SLOT_MAX_MS,
          holder: workflowInfo().runId,
          ...(carried ? { report: carried } : {}),
          now: Date.now(), // the lane's clock: what is due and how far a slot is are read on it, not on the worker's or the database's
          ...(input.window ? { window: input.window } : {}),
        });
      } catch (err) {
        throw new LaneFailed(
          failureType(err) === 'MailboxNotRunning' ? 'its workflow is not running' : `its reservations keep failing (${failureType(err) ?? 'error'})`,
        );
      }
      if (r.kind === 'idle') {
        const due = r.nextDueAt ?? null;
        if (due === null) return 'done'; // nothing left for it; a wake restarts it
        view(mailbox.id, 'idle', due, 'follow_up_delay');
        if (!(await sleepUntil(Math.max(due, Date.now() + 1000), true, parkAs)) && (cancelled || yielding)) return cancelled ? 'cancelled' : 'yield';
        continue;
      }
      if (r.kind === 'wait') {
        if (r.retryAt === null) {
          // Paused, resting or never open: its new leads go to the other mailboxes; a wake restarts it.
          released += await data.releaseUnsent({ campaignId: input.campaignId, mailboxId: mailbox.id });
          return 'stopped';
        }
        // A long wait (cap reached, window closed, cooling down; not normal
        // pacing, which would undo the spread): its unsent new leads go back
        // to the campaign, and lanes with room take them.
        if (r.retryAt - (r.answeredAt ?? Date.now()) > RELEASE_SHARE_AFTER_MS) {
          released += await data.releaseUnsent({ campaignId: input.campaignId, mailboxId: mailbox.id });
        }
        view(mailbox.id, 'waiting', r.retryAt, waitReason(r));
        if (!(await sleepUntil(Math.max(Date.now() + 1000, r.retryAt), false, parkAs)) && (cancelled || yielding)) return cancelled ? 'cancelled' : 'yield';
        continue;
      }
      const first = r.slots[0]!;
      view(mailbox.id, 'waiting', first, 'pacing');
      // Whether to wait is read on the activity's recorded clock (replays the same); how long, on the lane's.
      // A continue-as-new waits for a held slot (at most HOLD_SLOT_MAX_MS away) to be sent (runs before GROUP_SHORT_RUNS_PATCH gave it back).
      if (first > (r.answeredAt ?? Date.now())) await condition(() => cancelled || paused || (!parking && yielding), Math.max(1, first - Date.now()));
      if (paused || cancelled || (!parking && yielding)) {
        // Pause acknowledged (or the group moves to a new run): no send starts. Give the slots back; the leads stay queued.
        await report(handle, r.requestId, r.slots.map(() => ({ outcome: 'skipped' as const })));
        continue;
      }
      view(mailbox.id, 'sending');
      const end = await runBatch(mailbox, handle, r.requestId, r.slots, r.steps, defer);
      if (end) return end;
    }
  }

  /** A lane, with a fault of its mailbox turned into the end of that lane alone. */
  async function lane(mailbox: LaneMailbox): Promise<LaneEnd> {
    let end: LaneEnd;
    const pending: { report: BatchOutcomes | null } = { report: input.reports?.[mailbox.id] ?? null };
    pendingOf.set(mailbox.id, pending);
    try {
      end = await laneLoop(mailbox, pending);
      if (pending.report) {
        await report(getExternalWorkflowHandle(mailboxWorkflowId(mailbox.address)), pending.report.batchId, pending.report.outcomes, pending.report.from ?? 0);
      }
    } catch (err) {
      if (isCancellation(err)) throw err;
      // Whatever broke belongs to this mailbox's lane: the others go on.
      const reason = err instanceof LaneFailed ? err.message : `its lane failed (${failureType(err) ?? (err as Error).name ?? 'error'})`;
      log.warn('mailbox left the campaign', { campaignId: input.campaignId, mailboxId: mailbox.id, reason });
      try {
        released += await data.mailboxLaneFailed({ campaignId: input.campaignId, clientId: input.clientId, mailboxId: mailbox.id, reason });
      } catch {
        log.error('could not hand a failed mailbox\'s leads back; the next round does', { campaignId: input.campaignId, mailboxId: mailbox.id });
      }
      end = 'failed';
    }
    ends[mailbox.id] = end;
    view(mailbox.id, 'ended', null, end);
    return end;
  }

  const running = new Map<string, Promise<LaneEnd>>();
  const start = (m: LaneMailbox) => {
    delete ends[m.id];
    running.set(m.id, lane(m).finally(() => running.delete(m.id)));
  };
  for (const m of input.mailboxes) if (!ends[m.id] || ends[m.id] === 'yield') start(m);

  const shouldYield = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= maxEvents;
  for (;;) {
    await condition(() => running.size === 0 || restartDone || cancelled || shouldYield());
    if (restartDone && !cancelled) {
      // New work may be there: lanes that had none look again.
      restartDone = false;
      for (const m of input.mailboxes) if ((ends[m.id] === 'done' || ends[m.id] === 'stopped') && !running.has(m.id)) start(m);
      continue;
    }
    if (cancelled || running.size === 0) break;
    // Continue as new: wake every waiting lane, let each finish what it is doing, then carry the counters.
    yielding = true;
    if (parking) {
      // Every lane ended or asleep, every handler done; then nothing is awaited before the continue-as-new.
      await condition(() => [...running.keys()].every((id) => parked.has(id)) && allHandlersFinished());
    } else {
      await condition(() => running.size === 0);
      await condition(allHandlersFinished);
    }
    const carried = Object.fromEntries(Object.entries(ends).filter(([, e]) => e !== 'yield'));
    const next: CampaignGroupInput = { ...input, sent, failed, activity, released, paused, ended: carried };
    if (parking) {
      next.parked = Object.fromEntries(parked);
      for (const id of parked.keys()) {
        const report = pendingOf.get(id)?.report;
        if (report) owed[id] = report;
      }
      next.reports = owed;
    }
    await makeContinueAsNewFunc<typeof campaignGroupWorkflow>({ workflowTaskTimeout: LONG_RUN_TASK_TIMEOUT })(next);
  }
  await condition(() => running.size === 0);
  return { sent, failed, activity, released, ends };
}
