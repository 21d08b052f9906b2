import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import type { ReserveBatchInput, ReserveBatchResult } from '../../activities/reserve-slot.activity';
import { campaignWorkflowId, mailboxWorkflowId } from '../../workflows/ids';
import { MAX_BATCH, reportOutcomesSignal } from '../../workflows/mailbox.workflow';

/** Child workflows of the dead run followed at most this deep (a parent with lanes in children). */
const MAX_DEPTH = 2;

interface Held {
  /** The mailbox's latest reservation requests of the run, by address: the last one scheduled and the last one granted. */
  byAddress: Map<string, Map<string, number>>;
}

/** The first payload of a list, through the client's codecs (decoded in reverse order) and payload converter. */
async function decodeFirst<T>(client: Client, payloads: Payload[] | null | undefined): Promise<T | undefined> {
  const { payloadCodecs, payloadConverter } = client.options.loadedDataConverter;
  let ps: Payload[] = payloads ?? [];
  for (const codec of [...payloadCodecs].reverse()) ps = await codec.decode(ps);
  return ps[0] ? payloadConverter.fromPayload<T>(ps[0]) : undefined;
}

async function collect(client: Client, execution: { workflowId: string; runId?: string }, held: Held, depth: number): Promise<void> {
  const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
  const scheduled = new Map<string, ReserveBatchInput>();
  const lastScheduled = new Map<string, string>();
  const lastGranted = new Map<string, { requestId: string; slots: number }>();
  const children: temporal.api.common.v1.IWorkflowExecution[] = [];
  for (const ev of history.events ?? []) {
    const s = ev.activityTaskScheduledEventAttributes;
    if (s && s.activityType?.name === 'reserveBatch') {
      const input = await decodeFirst<ReserveBatchInput>(client, s.input?.payloads);
      if (!input?.address || !input.requestId) continue;
      scheduled.set(String(ev.eventId), input);
      lastScheduled.set(input.address, input.requestId);
    }
    const done = ev.activityTaskCompletedEventAttributes;
    const input = done ? scheduled.get(String(done.scheduledEventId)) : undefined;
    if (done && input) {
      const result = await decodeFirst<ReserveBatchResult>(client, done.result?.payloads);
      if (result?.kind === 'batch') lastGranted.set(input.address, { requestId: result.requestId, slots: result.slots.length });
    }
    const child = ev.childWorkflowExecutionStartedEventAttributes?.workflowExecution;
    if (child?.workflowId) children.push(child);
  }
  const add = (address: string, requestId: string, slots: number) => {
    const m = held.byAddress.get(address) ?? new Map<string, number>();
    m.set(requestId, Math.max(m.get(requestId) ?? 0, slots));
    held.byAddress.set(address, m);
  };
  for (const [address, requestId] of lastScheduled) add(address, requestId, MAX_BATCH); // may have been granted as it died
  for (const [address, g] of lastGranted) add(address, g.requestId, g.slots);
  if (depth < MAX_DEPTH) {
    for (const c of children) await collect(client, { workflowId: c.workflowId!, runId: c.runId ?? undefined }, held, depth + 1);
  }
}

/**
 * A mailbox holds a campaign's reservation until the campaign reports its
 * outcome, and grants that campaign nothing else meanwhile
 * (workflows/mailbox.workflow.ts, 'campaign_has_slot'). A campaign run that
 * died holding one never reports, so a restarted run would wait on that
 * mailbox until the grant expires (15 minutes after its slot). This reads the
 * dead run's history (and its children's) for each mailbox's latest
 * reservation and reports its slots 'failed': a slot already past stays
 * counted against the mailbox's caps (it may have been used), one still
 * ahead is given back; slots already reported are ignored by the mailbox.
 * Returns how many mailboxes were told. Nothing to do when the workflow is
 * open or gone.
 */
export async function releaseDeadRunReservations(client: Client, campaignId: string): Promise<number> {
  const workflowId = campaignWorkflowId(campaignId);
  try {
    const desc = await client.workflow.getHandle(workflowId).describe();
    if (desc.status.name === 'RUNNING') return 0;
    const held: Held = { byAddress: new Map() };
    await collect(client, { workflowId, runId: desc.runId }, held, 0);
    for (const [address, requests] of held.byAddress) {
      const mailbox = client.workflow.getHandle(mailboxWorkflowId(address));
      try {
        for (const [batchId, slots] of requests) {
          await mailbox.signal(reportOutcomesSignal, { batchId, outcomes: Array.from({ length: slots }, () => ({ outcome: 'failed' as const })) });
        }
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err; // a mailbox without a workflow holds nothing
      }
    }
    return held.byAddress.size;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 0;
    throw err;
  }
}
