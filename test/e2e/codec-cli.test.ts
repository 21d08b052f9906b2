import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { findTemporalCli } from '../../scripts/temporal-cli';
import { campaignWorkflowId } from '../../workflows/ids';
import { SmtpSink } from '../fakes/smtp-sink';
import { campaignWithLeads, newProvider } from '../helpers/campaign-fixture';
import { bearer, json, newClient, startStack, type Stack } from '../helpers/stack';

const execFileAsync = promisify(execFile);

/**
 * README "Reading payloads": `temporal workflow show --codec-endpoint <api>/codec
 * --codec-auth "Bearer <operator key>"`, with the real Temporal CLI against the
 * API listening on a port. A paused-and-resumed campaign's history holds Updates
 * with no arguments, for which the CLI posts `{}` (an empty payload list) to
 * /codec/decode.
 */
describe('temporal workflow show through the codec endpoint', () => {
  let stack: Stack;
  let sink: SmtpSink;
  let apiUrl: string;
  let cli: string;

  beforeAll(async () => {
    const found = await findTemporalCli();
    if (!found) throw new Error('no Temporal CLI found (scripts/temporal-cli.ts ensure installs one)');
    cli = found;
    sink = await new SmtpSink().start();
    stack = await startStack({ worker: true });
    apiUrl = await stack.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await stack?.close();
    await sink?.stop();
  });

  /** What an operator reads: every event with its fields (`--detailed`), payloads decoded by the CLI through the codec when given. */
  const show = async (workflowId: string, codec: boolean) =>
    (await execFileAsync(cli, [
      'workflow', 'show', '--workflow-id', workflowId, '--detailed',
      '--address', stack.config.TEMPORAL_ADDRESS, '--namespace', stack.config.TEMPORAL_NAMESPACE,
      ...(codec ? ['--codec-endpoint', `${apiUrl}/codec`, '--codec-auth', `Bearer ${stack.adminKey}`] : []),
    ], { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 })).stdout;

  it('/codec/decode and /codec/encode answer a missing payload list (what the CLI posts for none) with an empty one', async () => {
    for (const op of ['decode', 'encode']) {
      for (const payload of [{}, { payloads: [] }]) {
        const res = await stack.app.inject({ method: 'POST', url: `/codec/${op}`, headers: bearer(stack.adminKey), payload });
        expect({ op, payload, status: res.statusCode, body: json(res) }).toEqual({ op, payload, status: 200, body: { payloads: [] } });
      }
      // Still the operator's only.
      expect((await stack.app.inject({ method: 'POST', url: `/codec/${op}`, payload: {} })).statusCode).toBe(401);
    }
  });

  it('shows a paused-and-resumed campaign with its input in clear; without the codec it stays sealed', async () => {
    const provider = await newProvider(stack, 'smtp', { host: '127.0.0.1', port: sink.port });
    const client = await newClient(stack);
    // A slow mailbox: one send, then a minute's wait, so the campaign is still running when it is paused.
    const c = await campaignWithLeads(stack, client, {
      providers: [provider.name], mailboxes: 1, leads: 3,
      mailboxOverrides: { limits: { dailyMax: 1000, hourlyMax: 1000, minIntervalSeconds: 60, jitterRatio: 0 } },
    });
    const auth = bearer(client.apiKey);
    await c.start();
    const paused = await stack.app.inject({ method: 'POST', url: `/v1/campaigns/${c.campaignId}/pause`, headers: auth });
    expect(json(paused)).toEqual({ status: 'paused' });
    const resumed = await stack.app.inject({ method: 'POST', url: `/v1/campaigns/${c.campaignId}/resume`, headers: auth });
    expect(json(resumed)).toEqual({ status: 'running' });
    const workflowId = campaignWorkflowId(c.campaignId);
    try {
      // The history holds the pause and resume Updates, whose (empty) argument lists go through the codec too.
      const history = await stack.temporal.workflow.getHandle(workflowId).fetchHistory();
      const updates = history.events!.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
      expect(updates).toHaveLength(2);

      const sealed = await show(workflowId, false);
      expect(sealed.match(/-{5,} \[\d+\] WorkflowExecutionUpdateAccepted -{5,}/g)).toHaveLength(2);
      expect(sealed).not.toContain('input[0].campaignId');
      expect(sealed).not.toContain(`c-${c.tag}`);

      const opened = await show(workflowId, true);
      expect(opened.match(/-{5,} \[\d+\] WorkflowExecutionUpdateAccepted -{5,}/g)).toHaveLength(2);
      // The campaign's input in clear, and its summary naming the campaign.
      expect(opened).toContain(`input[0].campaignId: ${c.campaignId}\n`);
      expect(opened).toContain(`input[0].clientId: ${client.id}\n`);
      expect(opened).toContain(`userMetadata.summary: Campaign "c-${c.tag}"\n`);
    } finally {
      await stack.app.inject({ method: 'POST', url: `/v1/campaigns/${c.campaignId}/cancel`, headers: auth });
    }
  }, 120_000);
});
