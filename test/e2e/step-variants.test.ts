/**
 * Issue 14, point 3 on the real stack (API, worker, Temporal, PostgreSQL, an
 * SMTP sink): a step with A/B variants sends each lead its hashed variant,
 * records it on the send, pins both variants' versions, and
 * GET /v1/campaigns/:id/stats gives each variant's figures as the rows say;
 * a step with a winner rule (after 1, one mailbox: sends one at a time)
 * moves the remaining leads to the winner once each variant has a send.
 * Bad variant input is a 400 naming the field; another client's template or
 * stats stay out of reach.
 */
import { randomUUID } from 'node:crypto';
import { uuidv7 } from '../../core/ids';
import { assignVariant } from '../../workflows/policy/variants';
import { SmtpSink } from '../fakes/smtp-sink';
import { campaignWithLeads } from '../helpers/campaign-fixture';
import { bearer, json, newClient, newSmtpProvider, startStack, type Stack } from '../helpers/stack';

type Figures = { sent: number; delivered: number; replied: number; bounced: { hard: number; soft: number }; rates: Record<string, number | null> };
type Stats = {
  steps: (Figures & {
    step: number; templateId: string | null;
    variants: (Figures & { templateId: string; weight: number })[];
    winner: { templateId: string; after: number; tallies: { templateId: string; sent: number; replied: number }[]; decidedAt: string } | null;
  })[];
  total: Figures;
};
type ErrorBody = { error: { code: string; details?: { path: string; message: string }[] } };

describe('A/B variants per step (real stack, SMTP sink)', () => {
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

  const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, key: string, payload?: object) =>
    stack.app.inject({ method, url, headers: bearer(key), ...(payload ? { payload } : {}) });
  const template = async (key: string, subject: string) => {
    const res = await call('POST', '/v1/templates', key, { name: subject, subject, text: `${subject}.\nUnsubscribe: {{unsubscribeUrl}}` });
    expect(res.statusCode).toBe(201);
    return json<{ id: string }>(res).id;
  };

  it('bad variant input is a 400 naming the field; the single templateId form still works; another client\'s template is not a variant', async () => {
    const provider = await newSmtpProvider(stack, sink.port);
    const client = await newClient(stack);
    const other = await newClient(stack);
    const base = await campaignWithLeads(stack, client, { providers: [provider.name], mailboxes: 1, leads: 1 });
    const a = await template(client.apiKey, 'A');
    const b = await template(client.apiKey, 'B');
    const foreign = await template(other.apiKey, 'Theirs');
    const create = (step: object) => call('POST', '/v1/campaigns', client.apiKey, { name: 'v', steps: [step], mailboxes: { pool: base.pool } });
    const pathsOf = async (step: object) => {
      const res = await create(step);
      expect(res.statusCode).toBe(400);
      return (json<ErrorBody>(res).error.details ?? []).map((d) => d.path);
    };
    const v = (templateId: string, weight = 1) => ({ templateId, weight });
    expect(await pathsOf({ variants: [v(a)], delayDays: 0 })).toContain('steps.0.variants');
    expect(await pathsOf({ variants: [v(a), v(b), v(a), v(b), v(a), v(b)], delayDays: 0 })).toContain('steps.0.variants');
    expect(await pathsOf({ variants: [v(a), v(b, 0)], delayDays: 0 })).toContain('steps.0.variants.1.weight');
    expect(await pathsOf({ variants: [v(a), v(b, 101)], delayDays: 0 })).toContain('steps.0.variants.1.weight');
    expect(await pathsOf({ variants: [v(a), v(a)], delayDays: 0 })).toContain('steps.0.variants.1.templateId');
    expect(await pathsOf({ templateId: a, variants: [v(a), v(b)], delayDays: 0 })).toContain('steps.0.variants');
    expect(await pathsOf({ delayDays: 0 })).toContain('steps.0.templateId');
    expect(await pathsOf({ templateId: a, winner: { metric: 'reply_rate', after: 5 }, delayDays: 0 })).toContain('steps.0.winner');
    expect(await pathsOf({ variants: [v(a), v(b)], winner: { metric: 'open_rate', after: 5 }, delayDays: 0 })).toContain('steps.0.winner.metric');
    expect(await pathsOf({ variants: [v(a), v(b)], winner: { metric: 'reply_rate', after: 0 }, delayDays: 0 })).toContain('steps.0.winner.after');
    expect(await pathsOf({ variants: [v(a), v(foreign)], delayDays: 0 })).toEqual(['steps.0.variants.1.templateId']);
    const noDraft = await stack.pool.query('SELECT 1 FROM campaigns WHERE client_id = $1 AND name = $2', [client.id, 'v']);
    expect(noDraft.rowCount).toBe(0); // nothing half written
    // An edit of a draft is checked the same way.
    const patch = await call('PATCH', `/v1/campaigns/${base.campaignId}`, client.apiKey, { steps: [{ variants: [v(a), v(foreign)], delayDays: 0 }] });
    expect(patch.statusCode).toBe(400);
    expect(json<ErrorBody>(patch).error.details?.map((d) => d.path)).toEqual(['steps.0.variants.1.templateId']);

    const single = await create({ templateId: a, delayDays: 0 });
    expect(single.statusCode).toBe(201);
    expect(json<{ steps: unknown[] }>(single).steps).toEqual([{ templateId: a, delayDays: 0 }]);
    const weighted = await create({ variants: [{ templateId: a }, v(b, 3)], winner: { metric: 'reply_rate', after: 50 }, delayDays: 0 });
    expect(weighted.statusCode).toBe(201);
    const w = json<{ id: string; steps: unknown[] }>(weighted);
    expect(w.steps).toEqual([{ variants: [v(a, 1), v(b, 3)], winner: { metric: 'reply_rate', after: 50 }, delayDays: 0 }]);

    // Started (sending nothing before its start time): both variants' versions are pinned, and neither template can be deleted.
    const later = await call('PATCH', `/v1/campaigns/${w.id}`, client.apiKey, { startAt: new Date(Date.now() + 120_000).toISOString() });
    expect(later.statusCode).toBe(200);
    expect((await call('POST', `/v1/campaigns/${w.id}/start`, client.apiKey)).statusCode).toBe(202);
    expect(json<{ templateVersions: unknown }>(await call('GET', `/v1/campaigns/${w.id}`, client.apiKey)).templateVersions).toEqual({ [a]: 1, [b]: 1 });
    const del = await call('DELETE', `/v1/templates/${b}`, client.apiKey);
    expect(del.statusCode).toBe(409);
    expect(json(del)).toMatchObject({ error: { details: [{ path: 'campaigns', message: w.id }] } });
    expect((await call('DELETE', `/v1/templates/${b}`, other.apiKey)).statusCode).toBe(404); // another client's: not even seen
    expect((await call('POST', `/v1/campaigns/${w.id}/cancel`, client.apiKey)).statusCode).toBe(200);
  }, 60_000);

  it('each lead gets its hashed variant, recorded on the send; both versions pinned; stats per variant match the rows; another client gets a 404', async () => {
    const provider = await newSmtpProvider(stack, sink.port);
    const client = await newClient(stack);
    const tag = randomUUID().slice(0, 8);
    const a = await template(client.apiKey, `Subject A ${tag}`);
    const b = await template(client.apiKey, `Subject B ${tag}`);
    const variants = [{ templateId: a, weight: 1 }, { templateId: b, weight: 2 }];
    const c = await campaignWithLeads(stack, client, {
      providers: [provider.name], mailboxes: 2, leads: 12,
      campaign: { steps: [{ variants, delayDays: 0 }, { templateId: a, delayDays: 0 }] },
    });
    await c.start();
    await c.waitDone(120_000);
    const view = json<{ templateVersions: Record<string, number>; steps: unknown[] }>(await call('GET', `/v1/campaigns/${c.campaignId}`, client.apiKey));
    expect(view.templateVersions).toEqual({ [a]: 1, [b]: 1 });

    const { rows } = await stack.pool.query<{ id: string; lead_id: string; email: string; step: number; v: string | null; status: string; message_id_header: string }>(
      `SELECT s.id, s.lead_id, l.email, s.step, s.variant_template_id AS v, s.status, s.message_id_header
       FROM sends s JOIN leads l ON l.id = s.lead_id WHERE s.campaign_id = $1 ORDER BY l.email, s.step`,
      [c.campaignId],
    );
    expect(rows).toHaveLength(24);
    for (const r of rows) {
      const mail = sink.received.find((m) => m.headers['message-id'] === r.message_id_header)!;
      if (r.step === 1) {
        expect(r.v).toBeNull(); // a single-template step records none
        expect(mail.headers.subject).toBe(`Subject A ${tag}`);
        continue;
      }
      const expected = variants[assignVariant(r.lead_id, 0, variants)]!.templateId;
      expect(r.v).toBe(expected);
      expect(mail.headers.subject).toBe(expected === a ? `Subject A ${tag}` : `Subject B ${tag}`);
    }
    const sends = json<{ items: { step: number; variantTemplateId: string | null }[] }>(await call('GET', `/v1/campaigns/${c.campaignId}/sends?limit=100`, client.apiKey));
    expect(sends.items.filter((s) => s.step === 0).map((s) => s.variantTemplateId).sort()).toEqual(rows.filter((r) => r.step === 0).map((r) => r.v).sort());

    // Replies to two of A's step-0 sends (if any) and one of B's, bounces from the rows: the stats per variant follow.
    const step0 = rows.filter((r) => r.step === 0);
    const ofA = step0.filter((r) => r.v === a);
    const ofB = step0.filter((r) => r.v === b);
    for (const r of [...ofA.slice(0, 2), ...ofB.slice(0, 1)]) {
      await stack.pool.query(
        `INSERT INTO events (id, client_id, send_id, provider_kind, type, dedupe_key, payload, occurred_at) VALUES ($1, $2, $3, 'imap', 'replied', $4, '{}', now())`,
        [uuidv7(), client.id, r.id, `imap:${randomUUID()}`],
      );
    }
    if (ofB[1]) await stack.pool.query(`UPDATE sends SET status = 'bounced' WHERE id = $1`, [ofB[1].id]);
    const res = await call('GET', `/v1/campaigns/${c.campaignId}/stats`, client.apiKey);
    expect(res.statusCode).toBe(200);
    const s = json<Stats>(res);
    expect(s.steps[0]).toMatchObject({ step: 0, templateId: null, sent: 12, winner: null });
    expect(s.steps[0]!.variants).toEqual([
      expect.objectContaining({ templateId: a, weight: 1, sent: ofA.length, replied: Math.min(2, ofA.length), bounced: { hard: 0, soft: 0 } }),
      expect.objectContaining({ templateId: b, weight: 2, sent: ofB.length, replied: Math.min(1, ofB.length), bounced: { hard: ofB[1] ? 1 : 0, soft: 0 } }),
    ]);
    expect(s.steps[0]!.variants[0]!.rates.replied).toBe(ofA.length ? Math.round((Math.min(2, ofA.length) / ofA.length) * 10_000) / 10_000 : null);
    // The variants add up to their step.
    for (const k of ['sent', 'replied', 'delivered'] as const) expect(s.steps[0]!.variants.reduce((n, v) => n + v[k], 0)).toBe(s.steps[0]![k]);
    expect(s.steps[1]).toMatchObject({ step: 1, templateId: a, sent: 12, variants: [], winner: null });

    const other = await newClient(stack);
    expect((await call('GET', `/v1/campaigns/${c.campaignId}/stats`, other.apiKey)).statusCode).toBe(404);
  }, 180_000);

  it('a winner rule (after 1) switches the remaining leads only once each variant has a send; the decision is in the stats and a row', async () => {
    const provider = await newSmtpProvider(stack, sink.port);
    const client = await newClient(stack);
    const tag = randomUUID().slice(0, 8);
    const a = await template(client.apiKey, `Win A ${tag}`);
    const b = await template(client.apiKey, `Win B ${tag}`);
    const variants = [{ templateId: a, weight: 1 }, { templateId: b, weight: 1 }];
    const c = await campaignWithLeads(stack, client, {
      providers: [provider.name], mailboxes: 1, leads: 10,
      campaign: { steps: [{ variants, winner: { metric: 'reply_rate', after: 1 }, delayDays: 0 }] },
    });
    await c.start();
    await c.waitDone(120_000);
    // One mailbox sends one lead at a time, so when the rule decides, every earlier send has gone out and is counted.
    const { rows } = await stack.pool.query<{ lead_id: string; v: string }>(
      'SELECT lead_id, variant_template_id AS v FROM sends WHERE campaign_id = $1', [c.campaignId],
    );
    expect(rows).toHaveLength(10);
    const { rows: decisions } = await stack.pool.query<{ template_id: string; decided_at: Date; tallies: { templateId: string; sent: number; replied: number }[] }>(
      'SELECT template_id, decided_at, tallies FROM campaign_variant_decisions WHERE campaign_id = $1', [c.campaignId],
    );
    const hashed = new Map(rows.map((r) => [r.lead_id, variants[assignVariant(r.lead_id, 0, variants)]!.templateId]));
    if (new Set(hashed.values()).size === 1) {
      // All ten hashed to one variant (1 in 512): the other never had a send, so nothing was decided.
      expect(decisions).toEqual([]);
      for (const r of rows) expect(r.v).toBe(hashed.get(r.lead_id));
      return;
    }
    // No replies: a tie, so A (listed first) won, once each had its one send.
    expect(decisions).toHaveLength(1);
    const d = decisions[0]!;
    expect(d.template_id).toBe(a);
    expect(d.tallies.map((t) => t.templateId)).toEqual([a, b]);
    for (const t of d.tallies) expect(t.sent).toBeGreaterThanOrEqual(1);
    // Every lead got its hash or, after the decision, the winner; B was sent exactly as often as before the decision.
    for (const r of rows) expect([hashed.get(r.lead_id), a]).toContain(r.v);
    expect(rows.filter((r) => r.v === b)).toHaveLength(d.tallies[1]!.sent);
    const s = json<Stats>(await call('GET', `/v1/campaigns/${c.campaignId}/stats`, client.apiKey));
    expect(s.steps[0]!.winner).toMatchObject({ templateId: a, after: 1, decidedAt: d.decided_at.toISOString(), tallies: d.tallies });
    expect(s.steps[0]!.variants.map((v) => v.sent)).toEqual([rows.filter((r) => r.v === a).length, rows.filter((r) => r.v === b).length]);
  }, 180_000);
});
