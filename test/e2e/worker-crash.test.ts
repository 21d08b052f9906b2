import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { SmtpSink } from '../fakes/smtp-sink';
import { campaignWithLeads, deliveriesPerAddress, newProvider } from '../helpers/campaign-fixture';
import { eventually, newClient, startStack, type Stack } from '../helpers/stack';

const ROOT = path.join(__dirname, '../..');

describe('worker killed (SIGKILL) in the middle of 200 sends', () => {
  let stack: Stack;
  let sink: SmtpSink;
  const workers: ChildProcess[] = [];

  function startWorkerProcess(): ChildProcess {
    const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
    for (const [k, v] of Object.entries(stack.config)) if (v !== undefined) env[k] = String(v);
    env.LOG_LEVEL = 'error';
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'worker/main.ts')], { cwd: ROOT, env, stdio: 'ignore' });
    workers.push(child);
    return child;
  }

  beforeAll(async () => {
    sink = await new SmtpSink().start();
    stack = await startStack(); // API in this process; the worker runs as a child we can kill
  });
  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await stack?.close();
    await sink?.stop();
  });

  it('after a restart every lead is sent, none twice; a send cut off mid-call is marked unknown, never re-sent', async () => {
    const provider = await newProvider(stack, 'smtp', { host: '127.0.0.1', port: sink.port });
    const client = await newClient(stack);
    const c = await campaignWithLeads(stack, client, { providers: [provider.name], mailboxes: 8, leads: 200 });
    const first = startWorkerProcess();
    await c.start();
    await eventually(async () => sink.received.length >= 60, 60_000, 5);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const atKill = sink.received.length;
    expect(atKill).toBeLessThan(200);

    startWorkerProcess();
    await c.waitDone(150_000);

    const counts = deliveriesPerAddress(sink.received);
    const perLead = c.emails.map((e) => counts.get(e) ?? 0);
    expect(Math.max(...perLead)).toBe(1); // never twice
    const { rows } = await stack.pool.query<{ email: string; status: string }>(
      'SELECT l.email, s.status FROM leads l JOIN sends s ON s.lead_id = l.id WHERE l.campaign_id = $1',
      [c.campaignId],
    );
    expect(rows).toHaveLength(200);
    const unknown = rows.filter((r) => r.status === 'unknown');
    // Only a send in flight at the kill can be in doubt: at most one per mailbox lane.
    expect(unknown.length).toBeLessThanOrEqual(8);
    for (const r of rows) {
      if (r.status === 'sent') expect({ email: r.email, n: counts.get(r.email) }).toEqual({ email: r.email, n: 1 });
      else expect(r.status).toBe('unknown');
    }
    // Every lead the sink never saw is one of those in doubt: nothing silently lost.
    const unseen = c.emails.filter((e) => !counts.has(e));
    for (const e of unseen) expect(unknown.map((u) => u.email)).toContain(e);
  }, 240_000);
});
