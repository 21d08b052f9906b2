import { SmtpSink } from '../fakes/smtp-sink';
import { SesFake } from '../fakes/ses-fake';
import { campaignWithLeads, deliveriesPerAddress, newProvider } from '../helpers/campaign-fixture';
import { bearer, eventually, json, newClient, startStack, type Stack } from '../helpers/stack';
import { campaignWorkflowId } from '../../workflows/ids';

type Detail = {
  status: string;
  mode: string;
  counts: { sent: number; dryRun: number; held: number; pending: number };
  staged: { sample: number; stage: string; size: number; sent: number; bounced: number; complained: number; replied: number; failed: number } | null;
};
type Live = { live: { sentToday: number; sentThisHour: number; outstanding: number; status: string } | null };
type Preview = {
  sendId: string; step: number; status: string;
  message: { to: string; subject: string; text: string; messageId: string; inReplyTo?: string; references?: string[]; headers: Record<string, string> };
};

/**
 * Issue 14, point 1: a dry run runs the whole campaign path with no provider
 * call and leaves the mailboxes' real caps alone; a staged start sends to
 * ceil(sample × leads) first, holds in awaiting_approval, and approve sends
 * the rest (cancel ends it).
 */
describe('dry run and staged start', () => {
  let stack: Stack;
  let sink: SmtpSink;
  const ses = new SesFake();
  let sesUrl = '';
  beforeAll(async () => {
    sink = await new SmtpSink().start();
    sesUrl = await ses.start();
    stack = await startStack({ worker: true });
  });
  afterAll(async () => {
    await stack?.close();
    await sink?.stop();
    await ses.stop();
  });

  const get = async <T>(key: string, url: string) => json<T>(await stack.app.inject({ method: 'GET', url, headers: bearer(key) }));
  const post = (key: string, url: string, payload?: unknown) =>
    stack.app.inject({ method: 'POST', url, headers: bearer(key), ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}) });
  const mailFor = (emails: string[]) => {
    const wanted = new Set(emails.map((e) => e.toLowerCase()));
    return [...sink.received, ...ses.messages].filter((m) => m.to.some((t) => wanted.has(t.toLowerCase())));
  };

  it('a dry run of a two-step campaign records both steps of every lead as dry_run, threaded and previewable; no provider hears of it and the mailbox caps are untouched', async () => {
    const smtp = await newProvider(stack, 'smtp', { host: '127.0.0.1', port: sink.port });
    const sesAccount = await newProvider(stack, 'ses', { region: 'eu-west-1', accessKeyId: 'AKIDDRY', secretAccessKey: 'secret', endpoint: sesUrl });
    const client = await newClient(stack);
    const c = await campaignWithLeads(stack, client, {
      providers: [smtp.name, sesAccount.name], mailboxes: 2, leads: 6, steps: [0, 2 / 86_400],
      // Paced: one send a second per mailbox, as a real run would be.
      mailboxOverrides: { limits: { dailyMax: 10_000, hourlyMax: 1_000, minIntervalSeconds: 1, jitterRatio: 0 } },
    });
    const start = await post(client.apiKey, `/v1/campaigns/${c.campaignId}/start`, { mode: 'dry-run' });
    expect(start.statusCode).toBe(202);
    await c.waitDone(90_000);

    const { rows } = await stack.pool.query<{ id: string; email: string; step: number; status: string; mailbox_id: string; slot_at: Date; provider_account_id: string | null }>(
      `SELECT s.id, l.email, s.step, s.status, s.mailbox_id, s.slot_at, s.provider_account_id FROM sends s JOIN leads l ON l.id = s.lead_id
       WHERE s.campaign_id = $1 ORDER BY l.email, s.step`,
      [c.campaignId],
    );
    expect(rows).toHaveLength(12);
    for (const email of c.emails) expect(rows.filter((r) => r.email === email).map((r) => [r.step, r.status])).toEqual([[0, 'dry_run'], [1, 'dry_run']]);
    expect(rows.every((r) => r.provider_account_id === null)).toBe(true);
    // Nothing reached any provider fake.
    expect(mailFor(c.emails)).toEqual([]);
    // Pacing as real: on each mailbox, the recorded slots are at least its minimum interval apart.
    for (const mailboxId of c.mailboxIds) {
      const slots = rows.filter((r) => r.mailbox_id === mailboxId).map((r) => r.slot_at.getTime()).sort((a, b) => a - b);
      for (let i = 1; i < slots.length; i++) expect(slots[i]! - slots[i - 1]!).toBeGreaterThanOrEqual(1000);
    }

    const detail = await get<Detail>(client.apiKey, `/v1/campaigns/${c.campaignId}`);
    expect(detail).toMatchObject({ status: 'completed', mode: 'dry-run', counts: { sent: 0, dryRun: 12 }, staged: null });

    // Each send's rendered message; step 2 threads on step 1's Message-ID.
    const lead0 = rows.filter((r) => r.email === c.emails[0]);
    const p1 = await get<Preview>(client.apiKey, `/v1/campaigns/${c.campaignId}/sends/${lead0[0]!.id}/preview`);
    const p2 = await get<Preview>(client.apiKey, `/v1/campaigns/${c.campaignId}/sends/${lead0[1]!.id}/preview`);
    expect(p1).toMatchObject({ step: 0, status: 'dry_run', message: { to: c.emails[0], subject: 'Hello L0' } });
    expect(p1.message.text).toContain('Hi L0, a short note.');
    expect(p1.message.headers['List-Unsubscribe']).toMatch(/\/u\//);
    expect(p2.message.inReplyTo).toBe(p1.message.messageId);
    expect(p2.message.references).toEqual([p1.message.messageId]);

    // The mailboxes' real caps were never consumed: their workflows granted nothing.
    for (const id of c.mailboxIds) {
      const m = await get<Live>(client.apiKey, `/v1/mailboxes/${id}`);
      expect(m.live).toMatchObject({ sentToday: 0, sentThisHour: 0, outstanding: 0, status: 'active' });
    }

    // Another client sees none of it.
    const other = await newClient(stack);
    const stranger = await stack.app.inject({ method: 'GET', url: `/v1/campaigns/${c.campaignId}/sends/${lead0[0]!.id}/preview`, headers: bearer(other.apiKey) });
    expect(stranger.statusCode).toBe(404);
  }, 120_000);

  it('a dry run keeps the caps as real: a mailbox capped at 3 a day records 3 of 5 leads and waits on its daily cap, its real count still 0', async () => {
    const smtp = await newProvider(stack, 'smtp', { host: '127.0.0.1', port: sink.port });
    const client = await newClient(stack);
    const c = await campaignWithLeads(stack, client, {
      providers: [smtp.name], mailboxes: 1, leads: 5,
      mailboxOverrides: { limits: { dailyMax: 3, hourlyMax: 1_000, minIntervalSeconds: 0, jitterRatio: 0 } },
    });
    expect((await post(client.apiKey, `/v1/campaigns/${c.campaignId}/start`, { mode: 'dry-run' })).statusCode).toBe(202);
    const detail = await eventually(async () => {
      const d = await get<Detail & { progress: { nextSend: { reason: string } | null } | null }>(client.apiKey, `/v1/campaigns/${c.campaignId}`);
      return d.counts.dryRun === 3 && d.progress?.nextSend?.reason === 'daily_cap' ? d : null;
    }, 60_000, 250);
    expect(detail).toMatchObject({ status: 'running', mode: 'dry-run', counts: { dryRun: 3, sent: 0 } });
    expect(mailFor(c.emails)).toEqual([]);
    const m = await get<Live>(client.apiKey, `/v1/mailboxes/${c.mailboxIds[0]}`);
    expect(m.live).toMatchObject({ sentToday: 0, sentThisHour: 0 });
    expect((await post(client.apiKey, `/v1/campaigns/${c.campaignId}/cancel`)).statusCode).toBe(200);
  }, 90_000);

  it('a staged start sends to ceil(1 %) of the leads, holds awaiting approval with the sample figures and no open workflow, and approve sends the rest with no duplicate', async () => {
    const smtp = await newProvider(stack, 'smtp', { host: '127.0.0.1', port: sink.port });
    const client = await newClient(stack);
    // 120 leads: 1 % is 1.2, so the sample is 2 (ceil), not 1.
    const c = await campaignWithLeads(stack, client, { providers: [smtp.name], mailboxes: 2, leads: 120, steps: [0, 1 / 86_400] });
    expect((await post(client.apiKey, `/v1/campaigns/${c.campaignId}/start`, { mode: 'staged', sample: 0.01 })).statusCode).toBe(202);
    const held = await eventually(async () => {
      const d = await get<Detail>(client.apiKey, `/v1/campaigns/${c.campaignId}`);
      return d.status === 'awaiting_approval' ? d : null;
    }, 60_000, 250);
    expect(held).toMatchObject({
      mode: 'staged',
      staged: { sample: 0.01, stage: 'sample', size: 2, sent: 2, bounced: 0, complained: 0, replied: 0, failed: 0 },
      counts: { held: 120 }, // 118 never sent, and the 2 sample leads' second steps
    });
    expect(mailFor(c.emails)).toHaveLength(2);
    const sample = await stack.pool.query<{ email: string }>('SELECT email FROM leads WHERE campaign_id = $1 AND in_sample ORDER BY email', [c.campaignId]);
    expect(mailFor(c.emails).map((m) => m.to[0]).sort()).toEqual(sample.rows.map((r) => r.email));
    // Waiting costs nothing: the sample's run has closed; approve starts the rest.
    const closed = await eventually(async () => {
      const run = await stack.temporal.workflow.getHandle(campaignWorkflowId(c.campaignId)).describe();
      return run.status.name !== 'RUNNING' ? run.status.name : null;
    }, 30_000, 100);
    expect(closed).toBe('COMPLETED');

    const approved = await post(client.apiKey, `/v1/campaigns/${c.campaignId}/approve`);
    expect(approved.statusCode).toBe(200);
    expect(json(approved)).toEqual({ status: 'running' });
    await c.waitDone(120_000);
    const perAddress = deliveriesPerAddress(mailFor(c.emails));
    expect(perAddress.size).toBe(120);
    expect([...perAddress.values()].every((n) => n === 2)).toBe(true);
    const done = await get<Detail>(client.apiKey, `/v1/campaigns/${c.campaignId}`);
    expect(done).toMatchObject({ status: 'completed', staged: { stage: 'approved', size: 2 }, counts: { sent: 240, held: 0 } });
    // Approving again is a state conflict.
    expect((await post(client.apiKey, `/v1/campaigns/${c.campaignId}/approve`)).statusCode).toBe(409);
  }, 180_000);

  it('cancel of a staged campaign awaiting approval sends nothing more; approve is then a 409, and another client cannot approve it', async () => {
    const smtp = await newProvider(stack, 'smtp', { host: '127.0.0.1', port: sink.port });
    const client = await newClient(stack);
    const c = await campaignWithLeads(stack, client, { providers: [smtp.name], mailboxes: 1, leads: 30 });
    // No sample given: 1 %, at least one lead.
    expect((await post(client.apiKey, `/v1/campaigns/${c.campaignId}/start`, { mode: 'staged' })).statusCode).toBe(202);
    await eventually(async () => (await get<Detail>(client.apiKey, `/v1/campaigns/${c.campaignId}`)).status === 'awaiting_approval', 60_000, 250);
    expect(mailFor(c.emails)).toHaveLength(1);

    const other = await newClient(stack);
    expect((await post(other.apiKey, `/v1/campaigns/${c.campaignId}/approve`)).statusCode).toBe(404);
    expect((await post(other.apiKey, `/v1/campaigns/${c.campaignId}/cancel`)).statusCode).toBe(404);

    const cancelled = await post(client.apiKey, `/v1/campaigns/${c.campaignId}/cancel`);
    expect(json(cancelled)).toEqual({ status: 'cancelled' });
    expect((await post(client.apiKey, `/v1/campaigns/${c.campaignId}/approve`)).statusCode).toBe(409);
    const d = await get<Detail>(client.apiKey, `/v1/campaigns/${c.campaignId}`);
    expect(d).toMatchObject({ status: 'cancelled', counts: { held: 29 }, staged: { size: 1, sent: 1 } });
    const sends = await stack.pool.query('SELECT count(*)::int AS n FROM sends WHERE campaign_id = $1', [c.campaignId]);
    expect(sends.rows[0].n).toBe(1);
    expect(mailFor(c.emails)).toHaveLength(1);
  }, 90_000);

  it('bad start bodies are a 400 naming the field, and the draft stays a draft', async () => {
    const smtp = await newProvider(stack, 'smtp', { host: '127.0.0.1', port: sink.port });
    const client = await newClient(stack);
    const c = await campaignWithLeads(stack, client, { providers: [smtp.name], mailboxes: 1, leads: 2 });
    for (const [body, path] of [
      [{ mode: 'staged', sample: 0 }, 'sample'],
      [{ mode: 'staged', sample: 1.5 }, 'sample'],
      [{ mode: 'dry-run', sample: 0.1 }, ''],
      [{ mode: 'rehearse' }, 'mode'],
    ] as const) {
      const res = await post(client.apiKey, `/v1/campaigns/${c.campaignId}/start`, body);
      expect(res.statusCode).toBe(400);
      const err = json<{ error: { code: string; details: { path: string; message: string }[] } }>(res).error;
      expect(err.code).toBe('validation_failed');
      if (path) expect(err.details.map((d) => d.path)).toContain(path);
    }
    expect((await get<Detail>(client.apiKey, `/v1/campaigns/${c.campaignId}`)).status).toBe('draft');
  }, 60_000);
});
