import { campaignGroupWorkflowId, campaignWorkflowId } from '../../workflows/ids';
import { SmtpSink } from '../fakes/smtp-sink';
import { campaignWithLeads, newProvider } from '../helpers/campaign-fixture';
import { bearer, eventually, json, newClient, startStack, type Stack } from '../helpers/stack';

/** Events in the campaign's workflows (the campaign run and its one group), read from the server. */
async function campaignEvents(stack: Stack, campaignId: string): Promise<{ parent: number; group: number }> {
  const [p, g] = await Promise.all([
    stack.temporal.workflow.getHandle(campaignWorkflowId(campaignId)).describe(),
    stack.temporal.workflow.getHandle(campaignGroupWorkflowId(campaignId, 0, 0)).describe(),
  ]);
  return { parent: p.historyLength, group: g.historyLength };
}

describe('a campaign whose mailboxes have all reached their daily cap', () => {
  let stack: Stack;
  let sink: SmtpSink;
  beforeAll(async () => {
    sink = await new SmtpSink().start();
    stack = await startStack({ worker: true });
  });
  afterAll(async () => {
    await stack?.close();
    await sink?.stop();
  });

  it('sends what the caps allow, then waits on one timer per mailbox: no history grows while nothing is sent', async () => {
    const provider = await newProvider(stack, 'smtp', { host: '127.0.0.1', port: sink.port });
    const client = await newClient(stack);
    const c = await campaignWithLeads(stack, client, {
      providers: [provider.name], mailboxes: 8, leads: 30,
      mailboxOverrides: { limits: { dailyMax: 2, hourlyMax: 2, minIntervalSeconds: 0, jitterRatio: 0 } },
    });
    const auth = bearer(client.apiKey);
    await c.start();
    const get = async () => json<{ status: string; counts: { sent: number; pending: number }; progress: { nextSend: { at: string | null; reason: string } | null } | null }>(
      await stack.app.inject({ method: 'GET', url: `/v1/campaigns/${c.campaignId}`, headers: auth }),
    );
    // 8 mailboxes × 2 a day: 16 go out today, then every lane waits for tomorrow.
    const waiting = await eventually(async () => {
      const v = await get();
      return v.counts.sent === 16 && v.progress?.nextSend?.reason === 'daily_cap' ? v : null;
    }, 60_000, 250);
    expect(waiting.status).toBe('running');
    expect(sink.received).toHaveLength(16);
    // The next send is due when the mailboxes' day turns (UTC), less the lanes' five-minute reach.
    const tomorrow = new Date();
    tomorrow.setUTCHours(24, 0, 0, 0);
    expect(Date.parse(waiting.progress!.nextSend!.at!)).toBeGreaterThanOrEqual(tomorrow.getTime() - 5 * 60_000);

    // Let the last workflow tasks settle, then watch: nothing may grow while nothing is sent.
    const before = await eventually(async () => {
      const a = await campaignEvents(stack, c.campaignId);
      await new Promise((r) => setTimeout(r, 2000));
      const b = await campaignEvents(stack, c.campaignId);
      return a.parent === b.parent && a.group === b.group ? b : null;
    }, 20_000, 0);
    await new Promise((r) => setTimeout(r, 40_000)); // longer than any recheck period a polling lane would use
    const after = await campaignEvents(stack, c.campaignId);
    expect(after).toEqual(before);
    expect(sink.received).toHaveLength(16);
    // A small constant per mailbox, not a function of how long it waited.
    expect(before.group).toBeLessThan(8 * 40);
    expect((await get()).counts).toMatchObject({ sent: 16, pending: 14 });
  }, 150_000);
});
