import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { randomUUID } from 'node:crypto';
import { ENCODING, payloadToJson } from '../../core/codec';
import { createLogger } from '../../core/logger';
import { startWorker, type WorkerHandle } from '../../worker/main';
import { campaignGroupWorkflowId, campaignWorkflowId, mailboxWorkflowId } from '../../workflows/ids';
import { MailgunFake } from '../fakes/mailgun-fake';
import { campaignWithLeads, newProvider } from '../helpers/campaign-fixture';
import { bearer, json, newClient, startStack, type Stack } from '../helpers/stack';
import type { sendOrFailWorkflow } from '../helpers/workflows/send-or-fail.workflow';

type History = temporal.api.history.v1.IHistory;
type Failure = temporal.api.failure.v1.IFailure;

const text = (b?: Uint8Array | null) => Buffer.from(b ?? new Uint8Array()).toString('utf8');
/** A history as the server stores it, bytes read as latin1: what anyone with read access to Temporal sees. */
const raw = (h: History) => JSON.stringify(h, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v));

/**
 * Every failure an SDK wrote into a history (activity, workflow, update and
 * child failures, with the causes they wrap). Left out: workflow task
 * failures, which the core SDK reports itself (e.g. "UnhandledCommand"), and
 * failures the server makes (timeouts, terminations), which carry no text of ours.
 */
function failuresIn(node: unknown, out: Failure[] = []): Failure[] {
  if (Array.isArray(node)) for (const n of node) failuresIn(n, out);
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
      if (k === 'workflowTaskFailedEventAttributes') continue;
      const f = v as Failure;
      if ((k === 'failure' || k === 'cause' || k === 'lastFailure') && v && typeof v === 'object' && !f.timeoutFailureInfo && !f.serverFailureInfo && !f.terminatedFailureInfo) out.push(f);
      failuresIn(v, out);
    }
  }
  return out;
}

/**
 * Issue 11, point 7: a send that fails with a provider error naming the
 * recipient leaves neither the address nor the provider's text in clear in
 * Temporal's history (activity failures, workflow failures, their causes and
 * details). The failure converter moves messages and stack traces into an
 * encoded attribute the payload codec seals; the codec endpoint gives them
 * back to the operator.
 */
describe('failure messages and stack traces in history (failure converter)', () => {
  let stack: Stack;
  let helper: WorkerHandle | undefined;
  const mailgun = new MailgunFake();
  let plainConnection: Connection;
  let plain: Client;

  beforeAll(async () => {
    await mailgun.start();
    stack = await startStack({ worker: true });
    plainConnection = await Connection.connect({ address: stack.config.TEMPORAL_ADDRESS });
    plain = new Client({ connection: plainConnection, namespace: stack.config.TEMPORAL_NAMESPACE }); // no codec: the raw history
  });
  afterAll(async () => {
    await helper?.shutdown();
    await plainConnection?.close();
    await stack?.close();
    await mailgun.stop();
  });

  const decode = async (payloads: Payload[]) => {
    const res = await stack.app.inject({ method: 'POST', url: '/codec/decode', headers: bearer(stack.adminKey), payload: { payloads: payloads.map(payloadToJson) } });
    expect(res.statusCode).toBe(200);
    return json<{ payloads: { data: string }[] }>(res).payloads.map((p) => JSON.parse(Buffer.from(p.data, 'base64').toString('utf8')) as unknown);
  };

  it('a provider error naming the recipient stays sealed in every history; the client and the codec endpoint read it back', async () => {
    const marker = `Kestrel-Quux-${randomUUID().slice(0, 8)}`;
    const client = await newClient(stack);
    const provider = await newProvider(stack, 'mailgun', { apiKey: 'key-test', domain: 'mg.example.com', endpoint: `http://127.0.0.1:${mailgun.port}` });
    const campaign = await campaignWithLeads(stack, client, { providers: [provider.name], mailboxes: 1, leads: 1 });
    const other = await campaignWithLeads(stack, client, { providers: [provider.name], mailboxes: 1, leads: 1 });
    const recipients = [campaign.emails[0]!, other.emails[0]!];
    const said = `messages to ${recipients.join(' and ')} (${marker})`; // what the provider says, recipients and its own diagnostic

    // 1. A real campaign send: Mailgun answers 500 twice (the batch, then the send's first attempt alone),
    // quoting the recipients; the retry goes out. The attempt's failure is in the group's history
    // (ActivityTaskStarted.lastFailure), the batch's in its result.
    const transientError = `mailgun: HTTP 500 relay refused ${said}`;
    mailgun.respondWith({ status: 500, body: { message: `relay refused ${said}` }, times: 2 });
    await campaign.start();
    await campaign.waitDone();
    expect(mailgun.messages.map((m) => m.to)).toEqual([[recipients[0]]]);
    const groupHistory = await plain.workflow.getHandle(campaignGroupWorkflowId(campaign.campaignId, 0, 0)).fetchHistory();
    const retried = groupHistory.events!.flatMap((e) => (e.activityTaskStartedEventAttributes?.lastFailure ? [e.activityTaskStartedEventAttributes.lastFailure] : []));
    expect(retried).toHaveLength(1);

    // 2. A workflow that fails with the send activity's failure as its cause (Mailgun refuses the sender:
    // not retried), quoting it in its message and in its details.
    const refusedError = `mailgun: HTTP 400 'from' parameter refused for ${said}`;
    mailgun.respondWith({ status: 400, body: { message: `'from' parameter refused for ${said}` } });
    const taskQueue = `failure-history-${randomUUID()}`;
    helper = await startWorker({ ...stack.config, TEMPORAL_TASK_QUEUE: taskQueue }, {
      logger: createLogger('silent'), installRuntime: false, workflowsPath: require.resolve('../helpers/workflows/send-or-fail.workflow'),
    });
    await stack.pool.query(`UPDATE campaigns SET status = 'running' WHERE id = $1`, [other.campaignId]);
    const { rows: [lead] } = await stack.pool.query<{ id: string }>('SELECT id FROM leads WHERE campaign_id = $1', [other.campaignId]);
    const handle = await stack.temporal.workflow.start<typeof sendOrFailWorkflow>('sendOrFailWorkflow', {
      taskQueue, workflowId: `send-or-fail-${randomUUID()}`,
      args: [{ campaignId: other.campaignId, leadId: lead!.id, step: 0, mailboxId: other.mailboxIds[0]!, slotAt: Date.now() }],
    });
    // The API's client (the same data converter) reads the failure in clear, causes included.
    const failed = await handle.result().then(() => null, (err: unknown) => err);
    expect(failed).toBeInstanceOf(WorkflowFailedError);
    const workflowFailure = (failed as WorkflowFailedError).cause!;
    expect(workflowFailure.message).toBe(`send failed: ${refusedError}`);
    const root = (workflowFailure.cause as Error | undefined)?.cause as Error | undefined; // workflow failure → activity failure → the activity's error
    expect(root?.message).toBe(refusedError);
    expect(root?.stack).toMatch(/send-step\.activity/);

    // 3. Nothing of it is in clear in any history, as the server stores it.
    const { rows: mailboxes } = await stack.pool.query<{ address: string }>('SELECT address FROM mailboxes WHERE id = ANY($1)', [[...campaign.mailboxIds, ...other.mailboxIds]]);
    const helperHistory = await plain.workflow.getHandle(handle.workflowId).fetchHistory();
    const histories = [
      groupHistory,
      await plain.workflow.getHandle(campaignWorkflowId(campaign.campaignId)).fetchHistory(),
      ...(await Promise.all(mailboxes.map((m) => plain.workflow.getHandle(mailboxWorkflowId(m.address)).fetchHistory()))),
      helperHistory,
    ];
    for (const h of histories) {
      const stored = raw(h);
      for (const secret of [...recipients, marker, 'relay refused', "'from' parameter", 'mailgun: HTTP']) {
        expect({ secret, inClear: stored.includes(secret) }).toEqual({ secret, inClear: false });
      }
    }

    // Every failure (the retried attempt's, the activity failure, the workflow failure and the causes
    // they wrap) reads "Encoded failure" with an empty stack trace; the real ones are in a sealed attribute.
    const activityFailed = helperHistory.events!.find((e) => e.activityTaskFailedEventAttributes)!.activityTaskFailedEventAttributes!.failure!;
    const workflowFailed = helperHistory.events!.find((e) => e.workflowExecutionFailedEventAttributes)!.workflowExecutionFailedEventAttributes!.failure!;
    const all = histories.flatMap((h) => failuresIn(h.events));
    // the retried attempt; the activity failure; the workflow failure, its activity failure cause and that one's cause
    expect(all.length).toBeGreaterThanOrEqual(5);
    for (const f of all) {
      expect({ message: f.message, stackTrace: f.stackTrace ?? '' }).toEqual({ message: 'Encoded failure', stackTrace: '' });
      expect(text(f.encodedAttributes?.metadata?.encoding)).toBe(ENCODING);
    }
    // Application failure details are sealed payloads too.
    const details = workflowFailed.applicationFailureInfo!.details!.payloads!;
    expect(details).toHaveLength(1);
    for (const p of details) expect(text(p.metadata?.encoding)).toBe(ENCODING);

    // 4. The codec endpoint (what the Web UI and `temporal workflow show --codec-endpoint` call) opens them for the operator.
    type Attrs = { message: string; stack_trace: string };
    const [retriedAttrs, failedAttrs] = (await decode([retried[0]!.encodedAttributes as Payload, activityFailed.encodedAttributes as Payload])) as Attrs[];
    expect(retriedAttrs!.message).toBe(transientError);
    expect(failedAttrs!.message).toBe(refusedError);
    for (const a of [retriedAttrs!, failedAttrs!]) expect(a.stack_trace).toMatch(/send-step\.activity/);
    const chain: Failure[] = [];
    for (let f: Failure | null | undefined = workflowFailed; f; f = f.cause) chain.push(f);
    const decoded = (await decode(chain.map((f) => f.encodedAttributes as Payload))) as Attrs[];
    expect(decoded.map((d) => d.message)).toEqual([`send failed: ${refusedError}`, expect.any(String), refusedError]);
    expect(await decode(details as Payload[])).toEqual([{ providerError: refusedError }]);
    // Without the operator's key the endpoint opens nothing.
    const refused = await stack.app.inject({ method: 'POST', url: '/codec/decode', payload: { payloads: [payloadToJson(activityFailed.encodedAttributes as Payload)] } });
    expect(refused.statusCode).toBe(401);
  }, 180_000);
});
