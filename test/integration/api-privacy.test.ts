import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { hashEmail, privacyHashKey } from '../../core/privacy';
import { insertEvent } from '../../db/repositories/events';
import type { retentionWorkflow } from '../../workflows/retention.workflow';
import { SmtpSink } from '../fakes/smtp-sink';
import { campaignWithLeads, newProvider } from '../helpers/campaign-fixture';
import { bearer, json, newClient, startStack, type Stack } from '../helpers/stack';

type Counts = { leads: number; sends: number; events: number; replies: number; suppressions: number; suppressionRemovals: number; previews: number };
type Row = Record<string, unknown>;
type Export = { email: string; leads: Row[]; sends: Row[]; events: Row[]; engagements: Row[]; replies: Row[]; suppressions: Row[]; suppressionRemovals: Row[]; erasures: Row[] };

/** Every table and column (text, JSON, arrays) of the schema that holds `needle`, letter case aside. */
async function holders(pool: Pool, needle: string): Promise<string[]> {
  const { rows: cols } = await pool.query<{ t: string; c: string }>(
    `SELECT table_name AS t, column_name AS c FROM information_schema.columns
     WHERE table_schema = 'public' AND data_type IN ('text', 'character varying', 'character', 'jsonb', 'json', 'ARRAY')`,
  );
  const hits: string[] = [];
  for (const { t, c } of cols) {
    const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${t}" WHERE "${c}"::text ILIKE $1`, [`%${needle}%`]);
    if (rows[0]!.n > 0) hits.push(`${t}.${c}`);
  }
  return hits;
}

describe('POST /v1/privacy/erase and /export, and data retention', () => {
  let stack: Stack;
  let sink: SmtpSink;
  let provider: { name: string };
  beforeAll(async () => {
    sink = await new SmtpSink().start();
    stack = await startStack({ worker: true });
    provider = await newProvider(stack, 'smtp', { host: '127.0.0.1', port: sink.port });
  });
  afterAll(async () => {
    await stack?.close();
    await sink?.stop();
  });

  const person = () => `person-${randomUUID().slice(0, 8)}@people.example.org`;
  const deliveriesTo = (address: string) => sink.received.flatMap((m) => m.to).filter((to) => to.toLowerCase() === address).length;
  const erase = (key: string, email: string) => stack.app.inject({ method: 'POST', url: '/v1/privacy/erase', headers: bearer(key), payload: { email } });
  const exportOf = (key: string, email: string) => stack.app.inject({ method: 'POST', url: '/v1/privacy/export', headers: bearer(key), payload: { email } });
  const addLeads = (key: string, campaignId: string, emails: string[]) =>
    stack.app.inject({ method: 'POST', url: `/v1/campaigns/${campaignId}/leads`, headers: bearer(key), payload: { leads: emails.map((email) => ({ email, vars: { firstName: 'Pat' } })) } });

  /** A campaign of the client with `address` among its leads; sent (the worker ran it) unless `draft`. */
  async function campaignFor(client: { id: string; apiKey: string }, address: string, draft = false) {
    const c = await campaignWithLeads(stack, client, { providers: [provider.name], mailboxes: 1, leads: 1 });
    expect(json(await addLeads(client.apiKey, c.campaignId, [address]))).toMatchObject({ accepted: 1 });
    if (!draft) {
      await c.start();
      await c.waitDone();
    }
    const { rows } = await stack.pool.query<{ id: string }>('SELECT id FROM leads WHERE campaign_id = $1 AND lower(email) = $2', [c.campaignId, address]);
    return { ...c, leadId: rows[0]!.id };
  }

  /** Provider events naming the address (one of its send, one matched to no send), a reply from it, an error text quoting it. */
  async function seedFeedback(clientId: string, c: { campaignId: string; leadId: string }, address: string): Promise<string> {
    const { rows } = await stack.pool.query<{ id: string }>('SELECT id FROM sends WHERE lead_id = $1', [c.leadId]);
    const sendId = rows[0]!.id;
    await stack.pool.query(
      `INSERT INTO events (id, client_id, send_id, provider_kind, type, dedupe_key, payload, occurred_at) VALUES
         ($1::uuid, $3, $4, 'ses', 'delivered', $1::text, $5, now()), ($2::uuid, $3, NULL, 'ses', 'bounced', $2::text, $6, now())`,
      [randomUUID(), randomUUID(), clientId, sendId, JSON.stringify({ mail: { destination: [address] } }), JSON.stringify({ recipient: address.toUpperCase() })],
    );
    await stack.pool.query(
      `INSERT INTO replies (id, client_id, campaign_id, lead_id, send_id, step, source, kind, matched_by, from_address, subject, message_id, body_text, received_at, dedupe_key)
       VALUES ($1::uuid, $2, $3, $4, $5, 0, 'imap', 'reply', 'sender', $6, 'Re: Hello', $7, $8, now(), $1::text)`,
      [randomUUID(), clientId, c.campaignId, c.leadId, sendId, address, `<${randomUUID()}@people.example.org>`, `Thanks. Write to ${address} any time.`],
    );
    await stack.pool.query(`UPDATE sends SET last_error = $2 WHERE id = $1`, [sendId, `550 5.2.2 <${address}>: mailbox full`]);
    return sendId;
  }

  it('erase removes the address from every table and column in one request; its hash still blocks imports and sends', async () => {
    const a = await newClient(stack);
    const address = person();
    const sent = await campaignFor(a, address);
    const sendId = await seedFeedback(a.id, sent, address);
    // An open campaign (a draft) waiting to mail the address.
    const open = await campaignFor(a, person(), true);
    expect(json(await addLeads(a.apiKey, open.campaignId, [address]))).toMatchObject({ accepted: 1 });
    // A clear suppression, one removal of it on record, and the suppression again.
    const sup = () => stack.app.inject({ method: 'POST', url: '/v1/suppressions', headers: bearer(a.apiKey), payload: { emails: [address] } });
    expect((await sup()).statusCode).toBe(201);
    expect((await stack.app.inject({ method: 'DELETE', url: `/v1/suppressions/${address}`, headers: bearer(a.apiKey) })).statusCode).toBe(200);
    expect((await sup()).statusCode).toBe(201);
    expect(await holders(stack.pool, address)).toEqual(expect.arrayContaining(['leads.email', 'events.payload', 'replies.from_address', 'replies.body_text', 'sends.last_error', 'suppressions.email', 'suppression_removals.email']));
    const deliveredBefore = deliveriesTo(address);
    expect(deliveredBefore).toBe(1);

    const res = await erase(a.apiKey, address.toUpperCase());
    expect(res.statusCode).toBe(200);
    expect(json<{ counts: Counts }>(res).counts).toEqual({ leads: 2, sends: 1, events: 2, replies: 1, suppressions: 1, suppressionRemovals: 1, previews: 0 });
    // Nowhere in clear any more, in any table or column (the request log included).
    expect(await holders(stack.pool, address)).toEqual([]);
    const hash = hashEmail(privacyHashKey(stack.config)!, address);
    const { rows: log } = await stack.pool.query('SELECT kind, client_id, actor, counts FROM privacy_requests WHERE email_hash = $1', [hash]);
    expect(log).toEqual([{ kind: 'erase', client_id: a.id, actor: expect.stringMatching(/^key:/), counts: json<{ counts: Counts }>(res).counts }]);
    // The rows stay (campaign figures stay true), stripped; the waiting lead stopped.
    const { rows: leads } = await stack.pool.query('SELECT campaign_id, vars, status, erased_at FROM leads WHERE id = $1', [sent.leadId]);
    expect(leads).toEqual([{ campaign_id: sent.campaignId, vars: {}, status: 'done', erased_at: expect.any(Date) }]);
    const { rows: waiting } = await stack.pool.query(`SELECT status FROM leads WHERE campaign_id = $1 AND erased_at IS NOT NULL`, [open.campaignId]);
    expect(waiting).toEqual([{ status: 'suppressed' }]);

    // A provider event about the send arriving after the erasure keeps no payload (the provider's copy names the address).
    expect(await insertEvent(stack.pool, {
      provider: 'ses', eventId: randomUUID(), type: 'delivered', providerMessageId: null, correlationId: sendId, recipient: address,
      occurredAt: new Date(), payload: { mail: { destination: [address] } },
    }, { clientId: a.id, sendId })).toBe(true);
    expect(await holders(stack.pool, address)).toEqual([]);

    // The hash blocks it: an import counts it suppressed and writes nothing in clear.
    expect(json(await addLeads(a.apiKey, open.campaignId, [address.toUpperCase()]))).toEqual({ accepted: 0, duplicates: 0, suppressed: 1, invalid: [] });
    expect(await holders(stack.pool, address)).toEqual([]);
    // A lead written in clear anyway (an import racing the erase): the send step refuses it too.
    await stack.pool.query(`INSERT INTO leads (id, client_id, campaign_id, email, status) VALUES ($1, $2, $3, $4, 'pending')`, [randomUUID(), a.id, open.campaignId, address]);
    await open.start();
    await open.waitDone();
    expect(deliveriesTo(address)).toBe(deliveredBefore);
    expect(deliveriesTo(open.emails[0]!.toLowerCase())).toBe(1);
    const { rows: raced } = await stack.pool.query('SELECT status FROM leads WHERE campaign_id = $1 AND lower(email) = $2', [open.campaignId, address]);
    expect(raced).toEqual([{ status: 'suppressed' }]);
    const { rows: sends } = await stack.pool.query('SELECT count(*)::int AS n FROM sends s JOIN leads l ON l.id = s.lead_id WHERE l.campaign_id = $1 AND (lower(l.email) = $2 OR l.erased_at IS NOT NULL)', [open.campaignId, address]);
    expect(sends).toEqual([{ n: 0 }]);
  }, 180_000);

  it("export holds every row about the address, and no other client's data; the operator sees every client", async () => {
    const a = await newClient(stack);
    const b = await newClient(stack);
    const address = person();
    const ca = await campaignFor(a, address);
    await seedFeedback(a.id, ca, address);
    await stack.app.inject({ method: 'POST', url: '/v1/suppressions', headers: bearer(a.apiKey), payload: { emails: [address] } });
    const cb = await campaignFor(b, address, true);
    await stack.app.inject({ method: 'POST', url: '/v1/suppressions', headers: bearer(b.apiKey), payload: { emails: [address] } });

    const res = await exportOf(a.apiKey, address.toUpperCase());
    expect(res.statusCode).toBe(200);
    const out = json<Export>(res);
    const ids = async (sql: string) => (await stack.pool.query<{ id: string }>(sql, [a.id, address])).rows.map((r) => r.id).sort();
    const sorted = (rows: Row[]) => rows.map((r) => String(r.id)).sort();
    expect(sorted(out.leads)).toEqual(await ids('SELECT id FROM leads WHERE client_id = $1 AND lower(email) = $2'));
    expect(out.leads).toEqual([expect.objectContaining({ email: address, campaignId: ca.campaignId, vars: { firstName: 'Pat' } })]);
    expect(sorted(out.sends)).toEqual(await ids('SELECT s.id FROM sends s JOIN leads l ON l.id = s.lead_id WHERE s.client_id = $1 AND lower(l.email) = $2'));
    expect(out.sends).toHaveLength(1);
    expect(sorted(out.events)).toEqual(await ids(
      `SELECT id FROM events WHERE client_id = $1 AND (payload::text ILIKE '%' || $2 || '%'
         OR send_id IN (SELECT s.id FROM sends s JOIN leads l ON l.id = s.lead_id WHERE lower(l.email) = $2))`,
    ));
    expect(out.events.filter((e) => JSON.stringify(e.payload).toLowerCase().includes(address))).toHaveLength(2);
    expect(sorted(out.replies)).toEqual(await ids('SELECT id FROM replies WHERE client_id = $1 AND lower(from_address) = $2'));
    expect(out.replies).toEqual([expect.objectContaining({ from: address, text: `Thanks. Write to ${address} any time.` })]);
    expect(out.suppressions).toEqual([expect.objectContaining({ clientId: a.id, email: address, reason: 'manual' })]);
    // Nothing of B's: no row of it, not its id, campaign or lead.
    const all = [...out.leads, ...out.sends, ...out.events, ...out.engagements, ...out.replies, ...out.suppressions, ...out.suppressionRemovals];
    expect(new Set(all.map((r) => r.clientId))).toEqual(new Set([a.id]));
    for (const foreign of [b.id, cb.campaignId, cb.leadId]) expect(res.body).not.toContain(foreign);

    const op = json<Export>(await exportOf(stack.adminKey, address));
    expect(op.leads.map((l) => l.clientId).sort()).toEqual([a.id, b.id].sort());
    expect(op.suppressions.map((s) => s.clientId).sort()).toEqual([a.id, b.id].sort());
    // Logged with the hash and the counts, never the address.
    const hash = hashEmail(privacyHashKey(stack.config)!, address);
    const { rows } = await stack.pool.query(`SELECT client_id, actor, counts->>'leads' AS leads FROM privacy_requests WHERE email_hash = $1 AND kind = 'export' ORDER BY at`, [hash]);
    expect(rows).toEqual([{ client_id: a.id, actor: expect.stringMatching(/^key:/), leads: '1' }, { client_id: null, actor: 'operator', leads: '2' }]);
    expect((await holders(stack.pool, address)).filter((h) => h.startsWith('privacy_requests.'))).toEqual([]);
  }, 120_000);

  it("a client erases only its own data; the operator erases every client's and blocks the address for all", async () => {
    const a = await newClient(stack);
    const b = await newClient(stack);
    const address = person();
    const ca = await campaignFor(a, address, true);
    const cb = await campaignFor(b, address, true);
    const emailOf = async (leadId: string) => (await stack.pool.query<{ email: string }>('SELECT email FROM leads WHERE id = $1', [leadId])).rows[0]!.email;

    // B's erasure: B's lead only; A's lead, export and imports are untouched.
    expect(json<{ counts: Counts }>(await erase(b.apiKey, address)).counts.leads).toBe(1);
    expect(await emailOf(ca.leadId)).toBe(address);
    expect(await emailOf(cb.leadId)).not.toContain(address);
    expect(json<Export>(await exportOf(b.apiKey, address)).leads).toEqual([]);
    expect(json<Export>(await exportOf(a.apiKey, address)).leads).toHaveLength(1);
    const otherA = await campaignWithLeads(stack, a, { providers: [provider.name], mailboxes: 1, leads: 1 });
    expect(json(await addLeads(a.apiKey, otherA.campaignId, [address]))).toMatchObject({ accepted: 1, suppressed: 0 });
    expect(json(await addLeads(b.apiKey, cb.campaignId, [address]))).toMatchObject({ accepted: 0, suppressed: 1 });

    // The operator: every client's rows, and no client may mail it again.
    const res = await erase(stack.adminKey, address);
    expect([res.statusCode, json<{ counts: Counts }>(res).counts.leads]).toEqual([200, 2]);
    expect(await holders(stack.pool, address)).toEqual([]);
    const c = await newClient(stack);
    const cc = await campaignWithLeads(stack, c, { providers: [provider.name], mailboxes: 1, leads: 1 });
    for (const [key, campaignId] of [[a.apiKey, ca.campaignId], [c.apiKey, cc.campaignId]] as const) {
      expect(json(await addLeads(key, campaignId, [address]))).toMatchObject({ accepted: 0, suppressed: 1 });
    }
  }, 120_000);

  it('bad input is a 400 naming email and writes nothing; no key is a 401', async () => {
    const a = await newClient(stack);
    const before = (await stack.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM privacy_requests')).rows[0]!.n;
    for (const url of ['/v1/privacy/erase', '/v1/privacy/export']) {
      for (const payload of [{ email: 'not-an-address' }, {}, { email: 42 }, { email: `a${'b'.repeat(260)}@x.example` }]) {
        const res = await stack.app.inject({ method: 'POST', url, headers: bearer(a.apiKey), payload });
        expect([url, res.statusCode]).toEqual([url, 400]);
        expect(json<{ error: { code: string; details: { path: string }[] } }>(res).error).toMatchObject({ code: 'validation_failed', details: [expect.objectContaining({ path: 'email' })] });
      }
      const extra = await stack.app.inject({ method: 'POST', url, headers: bearer(a.apiKey), payload: { email: person(), clientId: randomUUID() } });
      expect(extra.statusCode).toBe(400);
      expect((await stack.app.inject({ method: 'POST', url, payload: { email: person() } })).statusCode).toBe(401);
    }
    const after = (await stack.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM privacy_requests')).rows[0]!.n;
    expect(after).toBe(before);
  });

  it('the retention run empties only provider event payloads older than DATA_RETENTION_DAYS', async () => {
    const a = await newClient(stack);
    const ids = { old: randomUUID(), edge: randomUUID(), recent: randomUUID() };
    const ages = { old: '400 days', edge: '31 days', recent: '29 days' };
    for (const [k, id] of Object.entries(ids)) {
      await stack.pool.query(
        `INSERT INTO events (id, client_id, provider_kind, type, dedupe_key, payload, occurred_at, received_at)
         VALUES ($1::uuid, $2, 'ses', 'delivered', $1::text, $3, now() - $4::interval, now() - $4::interval)`,
        [id, a.id, JSON.stringify({ raw: `payload ${k}` }), ages[k as keyof typeof ages]],
      );
    }
    const result = await stack.temporal.workflow.execute<typeof retentionWorkflow>('retentionWorkflow', {
      taskQueue: stack.config.TEMPORAL_TASK_QUEUE, workflowId: `retention-test-${randomUUID()}`, args: [{ retentionDays: 30 }],
    });
    expect(Date.now() - Date.parse(result.before)).toBeGreaterThanOrEqual(30 * 86_400_000);
    const { rows } = await stack.pool.query<{ id: string; payload: unknown; type: string }>('SELECT id, payload, type FROM events WHERE id = ANY($1::uuid[])', [Object.values(ids)]);
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.get(ids.old)).toEqual({ id: ids.old, payload: {}, type: 'delivered' });
    expect(byId.get(ids.edge)).toEqual({ id: ids.edge, payload: {}, type: 'delivered' });
    expect(byId.get(ids.recent)).toEqual({ id: ids.recent, payload: { raw: 'payload recent' }, type: 'delivered' });
  }, 60_000);
});
