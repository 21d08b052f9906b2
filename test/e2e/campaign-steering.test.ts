import { SmtpSink } from '../fakes/smtp-sink';
import { campaignWithLeads, deliveriesPerAddress, newProvider } from '../helpers/campaign-fixture';
import { bearer, eventually, json, newClient, startStack, type Stack } from '../helpers/stack';

describe('campaign sequences and steering', () => {
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

  it('two steps: replied and unsubscribed leads get no step 2; the others get it after the delay, threaded to step 1', async () => {
    const provider = await newProvider(stack, 'smtp', { host: '127.0.0.1', port: sink.port });
    const client = await newClient(stack);
    const delayDays = 4 / 86_400; // 4 seconds
    const c = await campaignWithLeads(stack, client, { providers: [provider.name], mailboxes: 2, leads: 6, steps: [0, delayDays] });
    const [replier, unsubscriber] = [c.emails[1]!, c.emails[4]!];
    await c.start();
    // After step 1 went to everyone, one lead replies and one unsubscribes, before step 2 is due.
    await eventually(async () => c.emails.every((e) => sink.received.some((m) => m.to[0] === e)), 20_000, 20);
    const step1At = Date.now();
    const reply = await stack.app.inject({ method: 'POST', url: '/v1/leads/reply', headers: bearer(client.apiKey), payload: { email: replier.toUpperCase(), campaignId: c.campaignId } });
    expect(json(reply)).toEqual({ replied: 1 });
    await stack.pool.query("UPDATE leads SET status = 'unsubscribed' WHERE campaign_id = $1 AND email = $2", [c.campaignId, unsubscriber]);

    await c.waitDone(60_000);
    const counts = deliveriesPerAddress(sink.received);
    for (const e of c.emails) expect({ e, n: counts.get(e) }).toEqual({ e, n: e === replier || e === unsubscriber ? 1 : 2 });
    for (const e of c.emails.filter((x) => x !== replier && x !== unsubscriber)) {
      const [first, second] = sink.received.filter((m) => m.to[0] === e);
      expect(second!.headers['in-reply-to']).toBe(first!.headers['message-id']);
      expect(second!.headers.references).toContain(first!.headers['message-id']!);
      // Same sender as step 1.
      expect(second!.from).toBe(first!.from);
    }
    // Each step 2 went out at least the delay after that lead's step 1.
    const { rows } = await stack.pool.query<{ gap_ms: number }>(
      `SELECT (extract(epoch FROM s2.sent_at - s1.sent_at) * 1000)::int AS gap_ms
       FROM sends s1 JOIN sends s2 ON s2.lead_id = s1.lead_id AND s2.step = 1
       WHERE s1.campaign_id = $1 AND s1.step = 0`,
      [c.campaignId],
    );
    expect(rows).toHaveLength(4);
    for (const r of rows) expect(r.gap_ms).toBeGreaterThanOrEqual(4_000);
    expect(Date.now() - step1At).toBeGreaterThanOrEqual(3_000);
  }, 90_000);

  it('pause: no send starts after the pause call returns; resume finishes with no duplicates; cancel ends the workflow', async () => {
    const provider = await newProvider(stack, 'smtp', { host: '127.0.0.1', port: sink.port });
    const client = await newClient(stack);
    const c = await campaignWithLeads(stack, client, {
      providers: [provider.name], mailboxes: 3, leads: 40,
      mailboxOverrides: { limits: { dailyMax: 1000, hourlyMax: 1000, minIntervalSeconds: 1, jitterRatio: 0 } },
    });
    const auth = bearer(client.apiKey);
    await c.start();
    const mine = () => sink.received.filter((m) => c.emails.includes(m.to[0]!)).length;
    await eventually(async () => mine() >= 5, 20_000, 20);
    const paused = await stack.app.inject({ method: 'POST', url: `/v1/campaigns/${c.campaignId}/pause`, headers: auth });
    expect(json(paused)).toEqual({ status: 'paused' });
    const pausedAt = new Date();
    await new Promise((r) => setTimeout(r, 3000));
    const started = await stack.pool.query("SELECT count(*)::int AS n FROM sends WHERE campaign_id = $1 AND created_at > $2", [c.campaignId, pausedAt]);
    expect(started.rows[0].n).toBe(0);
    const atPause = mine();
    expect(atPause).toBeLessThan(40);
    const again = await stack.app.inject({ method: 'POST', url: `/v1/campaigns/${c.campaignId}/pause`, headers: auth });
    expect(again.statusCode).toBe(409);
    // GET shows the workflow's own progress next to the database counts: paused, nothing in flight.
    const whilePaused = json<{ status: string; counts: { sent: number }; progress: { status: string; sent: number; inFlight: number } | null }>(
      await stack.app.inject({ method: 'GET', url: `/v1/campaigns/${c.campaignId}`, headers: auth }),
    );
    expect(whilePaused.status).toBe('paused');
    expect(whilePaused.progress).toMatchObject({ status: 'paused', inFlight: 0 });
    expect(whilePaused.progress!.sent).toBe(whilePaused.counts.sent);

    expect(json(await stack.app.inject({ method: 'POST', url: `/v1/campaigns/${c.campaignId}/resume`, headers: auth }))).toEqual({ status: 'running' });
    await c.waitDone(60_000);
    const done = json<{ progress: unknown }>(await stack.app.inject({ method: 'GET', url: `/v1/campaigns/${c.campaignId}`, headers: auth }));
    expect(done.progress).toBeNull(); // no open workflow: the counts are the whole story
    const counts = deliveriesPerAddress(sink.received);
    for (const e of c.emails) expect({ e, n: counts.get(e) }).toEqual({ e, n: 1 });

    // Cancel: a fresh running campaign stops, its workflow closes, nothing runs on.
    const c2 = await campaignWithLeads(stack, client, {
      providers: [provider.name], mailboxes: 2, leads: 30,
      mailboxOverrides: { limits: { dailyMax: 1000, hourlyMax: 1000, minIntervalSeconds: 2, jitterRatio: 0 } },
    });
    await c2.start();
    await eventually(async () => sink.received.some((m) => c2.emails.includes(m.to[0]!)), 20_000, 20);
    const cancelled = await stack.app.inject({ method: 'POST', url: `/v1/campaigns/${c2.campaignId}/cancel`, headers: auth });
    expect(json(cancelled)).toEqual({ status: 'cancelled' });
    const handle = stack.temporal.workflow.getHandle(`campaign-${c2.campaignId}`);
    await expect(handle.result()).resolves.toMatchObject({ status: 'cancelled' });
    const desc = await handle.describe();
    expect(desc.status.name).toBe('COMPLETED');
    expect(desc.raw.pendingActivities ?? []).toEqual([]);
    const after = sink.received.length;
    await new Promise((r) => setTimeout(r, 2500));
    expect(sink.received.length).toBe(after);
    const resume = await stack.app.inject({ method: 'POST', url: `/v1/campaigns/${c2.campaignId}/resume`, headers: auth });
    expect(resume.statusCode).toBe(409);
  }, 120_000);
});
