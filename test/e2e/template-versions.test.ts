import { SmtpSink } from '../fakes/smtp-sink';
import { campaignWithLeads, newProvider } from '../helpers/campaign-fixture';
import { bearer, eventually, json, newClient, startStack, type Stack } from '../helpers/stack';

/**
 * Issue 13, point 4: templates are versioned. A PATCH makes a new version
 * (GET shows it); a campaign keeps sending the versions it started with,
 * through the real worker and an SMTP sink; a campaign started after the
 * edit sends the new one. A template a live campaign uses cannot be deleted.
 */
describe('template versions: a running campaign sends the version it started with', () => {
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

  const OLD = { subject: 'Old subject {{firstName|there}}', text: 'Old body.\nUnsubscribe: {{unsubscribeUrl}}' };
  const NEW = { subject: 'New subject {{firstName|there}}', text: 'New body.\nUnsubscribe: {{unsubscribeUrl}}' };

  it('edited while the campaign runs: every lead gets the old version; GET shows version 2; a later campaign sends version 2', async () => {
    const provider = await newProvider(stack, 'smtp', { host: '127.0.0.1', port: sink.port });
    const client = await newClient(stack);
    const auth = bearer(client.apiKey);
    const base = await campaignWithLeads(stack, client, { providers: [provider.name], mailboxes: 2, leads: 3, template: OLD });
    // The same draft with a start time ahead: the campaign is running (its versions pinned) and sends nothing until then.
    const startAt = new Date(Date.now() + 20_000);
    const patched = await stack.app.inject({ method: 'PATCH', url: `/v1/campaigns/${base.campaignId}`, headers: auth, payload: { startAt: startAt.toISOString() } });
    expect(patched.statusCode).toBe(200);
    await base.start();
    const get = async () => json<{ status: string; templateVersions: Record<string, number> | null; progress: { nextSend: { reason: string } | null } | null }>(
      await stack.app.inject({ method: 'GET', url: `/v1/campaigns/${base.campaignId}`, headers: auth }));
    await eventually(async () => (await get()).progress?.nextSend?.reason === 'start_time', 15_000, 200);
    expect((await get()).templateVersions).toEqual({ [base.templateId]: 1 });

    const edit = await stack.app.inject({ method: 'PATCH', url: `/v1/templates/${base.templateId}`, headers: auth, payload: NEW });
    expect(edit.statusCode).toBe(200);
    expect(json(edit)).toMatchObject({ id: base.templateId, version: 2, subject: NEW.subject, text: NEW.text });
    const shown = json<{ version: number; subject: string; updatedAt: string }>(await stack.app.inject({ method: 'GET', url: `/v1/templates/${base.templateId}`, headers: auth }));
    expect(shown).toMatchObject({ version: 2, subject: NEW.subject, text: NEW.text });

    // A live campaign uses it: no delete.
    const del = await stack.app.inject({ method: 'DELETE', url: `/v1/templates/${base.templateId}`, headers: auth });
    expect(del.statusCode).toBe(409);
    expect(json(del)).toMatchObject({ error: { code: 'conflict', details: [{ path: 'campaigns', message: base.campaignId }] } });

    await base.waitDone(90_000);
    const editedAt = Date.parse(shown.updatedAt);
    const { rows } = await stack.pool.query<{ sent_at: Date }>("SELECT sent_at FROM sends WHERE campaign_id = $1 AND status = 'sent'", [base.campaignId]);
    expect(rows).toHaveLength(3);
    for (const r of rows) expect(r.sent_at.getTime()).toBeGreaterThan(editedAt); // every send went out after the edit
    for (const [i, e] of base.emails.entries()) {
      const got = sink.received.filter((m) => m.to[0] === e);
      expect(got).toHaveLength(1);
      expect(got[0]!.headers.subject).toBe(`Old subject L${i}`);
      expect(got[0]!.raw).toContain('Old body.');
      expect(got[0]!.raw).not.toContain('New body.');
    }

    // A campaign started after the edit pins version 2.
    const later = json<{ id: string }>(await stack.app.inject({
      method: 'POST', url: '/v1/campaigns', headers: auth,
      payload: { name: 'later', steps: [{ templateId: base.templateId, delayDays: 0 }], mailboxes: { pool: base.pool } },
    }));
    const email = `later-${base.tag}@leads.example.org`;
    await stack.app.inject({ method: 'POST', url: `/v1/campaigns/${later.id}/leads`, headers: auth, payload: { leads: [{ email, vars: { firstName: 'Z' } }] } });
    expect((await stack.app.inject({ method: 'POST', url: `/v1/campaigns/${later.id}/start`, headers: auth })).statusCode).toBe(202);
    await eventually(async () => sink.received.find((m) => m.to[0] === email), 60_000, 250);
    const mail = sink.received.find((m) => m.to[0] === email)!;
    expect(mail.headers.subject).toBe('New subject Z');
    expect(mail.raw).toContain('New body.');
    const laterView = json<{ templateVersions: Record<string, number> }>(await stack.app.inject({ method: 'GET', url: `/v1/campaigns/${later.id}`, headers: auth }));
    expect(laterView.templateVersions).toEqual({ [base.templateId]: 2 });
  }, 180_000);

  it('a finished campaign lets its template go: deleted, it is a 404, lists drop it, and a draft naming it cannot start (409 naming the step)', async () => {
    const provider = await newProvider(stack, 'smtp', { host: '127.0.0.1', port: sink.port });
    const client = await newClient(stack);
    const auth = bearer(client.apiKey);
    const base = await campaignWithLeads(stack, client, { providers: [provider.name], mailboxes: 1, leads: 1, template: OLD });
    const draft = json<{ id: string }>(await stack.app.inject({
      method: 'POST', url: '/v1/campaigns', headers: auth,
      payload: { name: 'draft', steps: [{ templateId: base.templateId, delayDays: 0 }], mailboxes: { pool: base.pool } },
    }));
    await base.start();
    await base.waitDone(90_000);

    const del = await stack.app.inject({ method: 'DELETE', url: `/v1/templates/${base.templateId}`, headers: auth });
    expect(del.statusCode).toBe(200);
    expect(json(del)).toEqual({ id: base.templateId, deleted: true });
    expect((await stack.app.inject({ method: 'GET', url: `/v1/templates/${base.templateId}`, headers: auth })).statusCode).toBe(404);
    expect((await stack.app.inject({ method: 'PATCH', url: `/v1/templates/${base.templateId}`, headers: auth, payload: NEW })).statusCode).toBe(404);
    expect((await stack.app.inject({ method: 'DELETE', url: `/v1/templates/${base.templateId}`, headers: auth })).statusCode).toBe(404);
    const list = json<{ items: { id: string }[] }>(await stack.app.inject({ method: 'GET', url: '/v1/templates', headers: auth }));
    expect(list.items.map((t) => t.id)).not.toContain(base.templateId);

    const start = await stack.app.inject({ method: 'POST', url: `/v1/campaigns/${draft.id}/start`, headers: auth });
    expect(start.statusCode).toBe(409);
    expect(json(start)).toMatchObject({ error: { details: [{ path: 'steps.0.templateId' }] } });
    expect(json<{ status: string }>(await stack.app.inject({ method: 'GET', url: `/v1/campaigns/${draft.id}`, headers: auth })).status).toBe('draft');
    const create = await stack.app.inject({
      method: 'POST', url: '/v1/campaigns', headers: auth,
      payload: { name: 'again', steps: [{ templateId: base.templateId, delayDays: 0 }], mailboxes: { pool: base.pool } },
    });
    expect(create.statusCode).toBe(400);
    expect(json(create)).toMatchObject({ error: { details: [{ path: 'steps.0.templateId' }] } });
  }, 180_000);
});
