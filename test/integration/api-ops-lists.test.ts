import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { buildApp } from '../../api/app';
import { SecretBox } from '../../core/crypto';
import { createLogger } from '../../core/logger';
import { insertAlert } from '../../db/repositories/alerts';
import { transitionBreaker } from '../../db/repositories/provider-health';
import { logRotation } from '../../db/repositories/reputation';
import { newProvider } from '../helpers/campaign-fixture';
import { bearer, json, newClient, startStack, type Stack } from '../helpers/stack';
import { verifyStackDomains } from '../helpers/verified-domains';

type ErrorBody = { error: { code: string; message: string; details?: { path: string; message: string }[] } };
type AlertItem = { id: string; clientId: string | null; kind: string; resolvedAt: string | null; resolvedBy: string | null };
type Page<T> = { items: T[]; nextCursor: string | null };

/**
 * Issue 13, point 4: removing a suppression (complaints only by the
 * operator's force), alerts (list, acknowledge), provider switches
 * (operator only), a domain's rotation history, and template edits' bad input.
 */
describe('suppression removal, alerts, provider switches, rotation history, template edits', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack?.close());

  const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, key: string, payload?: object) =>
    stack.app.inject({ method, url, headers: bearer(key), ...(payload ? { payload } : {}) });
  const paths = (res: Parameters<typeof json>[0]) => json<ErrorBody>(res).error.details?.map((d) => d.path) ?? [];

  /** Every page of a list, following nextCursor. */
  async function all<T extends { id: string }>(url: string, key: string, limit = 2): Promise<{ ids: string[]; pages: number }> {
    const ids: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const sep = url.includes('?') ? '&' : '?';
      const res = await call('GET', `${url}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, key);
      expect(res.statusCode).toBe(200);
      const page: Page<T> = json<Page<T>>(res);
      ids.push(...page.items.map((i) => i.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    return { ids, pages };
  }

  describe('DELETE /v1/suppressions/:email', () => {
    it('a client removes its own manual suppression, recorded with who did it; a complaint is a 409 for it and a 403 if it forces', async () => {
      const a = await newClient(stack);
      const b = await newClient(stack);
      const tag = randomUUID().slice(0, 8);
      const manual = `Manual-${tag}@x.example`;
      const complaint = `complaint-${tag}@x.example`;
      await call('POST', '/v1/suppressions', a.apiKey, { emails: [manual] });
      await stack.pool.query("INSERT INTO suppressions (client_id, email, reason) VALUES ($1, $2, 'complaint')", [a.id, complaint]);
      const listed = async () => json<Page<{ email: string }>>(await call('GET', '/v1/suppressions', a.apiKey)).items.map((s) => s.email).sort();

      // B cannot remove A's (a 404; A's list unchanged).
      expect((await call('DELETE', `/v1/suppressions/${encodeURIComponent(manual)}`, b.apiKey)).statusCode).toBe(404);
      expect(await listed()).toEqual([complaint, manual.toLowerCase()].sort());

      const res = await call('DELETE', `/v1/suppressions/${encodeURIComponent(manual)}`, a.apiKey);
      expect([res.statusCode, json(res)]).toEqual([200, { email: manual.toLowerCase(), reason: 'manual', removed: true, forced: false }]);
      expect(await listed()).toEqual([complaint]);
      const { rows } = await stack.pool.query('SELECT email, reason, actor, forced FROM suppression_removals WHERE client_id = $1', [a.id]);
      expect(rows).toEqual([{ email: manual.toLowerCase(), reason: 'manual', actor: expect.stringMatching(/^key:[0-9a-f-]{36}$/), forced: false }]);
      expect((await call('DELETE', `/v1/suppressions/${encodeURIComponent(manual)}`, a.apiKey)).statusCode).toBe(404);

      const refused = await call('DELETE', `/v1/suppressions/${complaint}`, a.apiKey);
      expect(refused.statusCode).toBe(409);
      expect(paths(refused)).toEqual(['email']);
      const forcing = await call('DELETE', `/v1/suppressions/${complaint}?force=true`, a.apiKey);
      expect(forcing.statusCode).toBe(403);
      expect(paths(forcing)).toEqual(['force']);
      const naming = await call('DELETE', `/v1/suppressions/${complaint}?clientId=${b.id}`, a.apiKey);
      expect([naming.statusCode, paths(naming)]).toEqual([403, ['clientId']]);
      expect(await listed()).toEqual([complaint]);
    });

    it('the operator removes a complaint only with force=true and a clientId; bad input is a 400 naming the field', async () => {
      const a = await newClient(stack);
      const complaint = `complaint-${randomUUID().slice(0, 8)}@x.example`;
      await stack.pool.query("INSERT INTO suppressions (client_id, email, reason) VALUES ($1, $2, 'complaint')", [a.id, complaint]);

      const noClient = await call('DELETE', `/v1/suppressions/${complaint}?force=true`, stack.adminKey);
      expect([noClient.statusCode, paths(noClient)]).toEqual([400, ['clientId']]);
      const unknownClient = await call('DELETE', `/v1/suppressions/${complaint}?force=true&clientId=${randomUUID()}`, stack.adminKey);
      expect([unknownClient.statusCode, paths(unknownClient)]).toEqual([404, ['clientId']]);
      expect((await call('DELETE', `/v1/suppressions/${complaint}?clientId=${a.id}`, stack.adminKey)).statusCode).toBe(409);
      for (const [url, path] of [
        [`/v1/suppressions/not-an-address?clientId=${a.id}`, 'params.email'],
        [`/v1/suppressions/${complaint}?clientId=${a.id}&force=yes`, 'query.force'],
        [`/v1/suppressions/${complaint}?clientId=nope`, 'query.clientId'],
      ] as const) {
        const res = await call('DELETE', url, stack.adminKey);
        expect({ url, status: res.statusCode, paths: paths(res) }).toEqual({ url, status: 400, paths: [path] });
      }
      expect((await stack.pool.query('SELECT 1 FROM suppressions WHERE client_id = $1', [a.id])).rowCount).toBe(1);

      const forced = await call('DELETE', `/v1/suppressions/${complaint}?force=true&clientId=${a.id}`, stack.adminKey);
      expect([forced.statusCode, json(forced)]).toEqual([200, { email: complaint, reason: 'complaint', removed: true, forced: true }]);
      const { rows } = await stack.pool.query('SELECT reason, actor, forced FROM suppression_removals WHERE client_id = $1', [a.id]);
      expect(rows).toEqual([{ reason: 'complaint', actor: 'operator', forced: true }]);
      expect((await stack.pool.query('SELECT 1 FROM suppressions WHERE client_id = $1', [a.id])).rowCount).toBe(0);
    });
    it('the address in the path never reaches the request log in clear', async () => {
      const lines: string[] = [];
      const logger = createLogger('info', new Writable({ write(chunk: Buffer, _enc, cb) { lines.push(chunk.toString()); cb(); } }));
      const app = await buildApp({ config: stack.config, pool: stack.pool, temporal: stack.temporal, box: new SecretBox(stack.config.CREDENTIALS_KEY!) }, { logger });
      try {
        const a = await newClient(stack);
        const address = `private.person-${randomUUID().slice(0, 8)}@recipient.example`;
        await call('POST', '/v1/suppressions', a.apiKey, { emails: [address] });
        const removed = await app.inject({ method: 'DELETE', url: `/v1/suppressions/${address}`, headers: bearer(a.apiKey) });
        expect(removed.statusCode).toBe(200);
        const encoded = await app.inject({ method: 'DELETE', url: `/v1/suppressions/${encodeURIComponent(address)}`, headers: bearer(a.apiKey) });
        expect(encoded.statusCode).toBe(404);
      } finally {
        await app.close();
      }
      const all = lines.join('');
      expect(all).toContain('suppression removed');
      expect(all).toContain('/v1/suppressions/[redacted]');
      expect(all).not.toContain('private.person-');
    });
  });

  describe('GET /v1/alerts and POST /v1/alerts/:id/ack', () => {
    it('a client pages through its own alerts, newest first, filters by kind and state, and acknowledges them; another client\'s is a 404', async () => {
      const a = await newClient(stack);
      const b = await newClient(stack);
      const made: string[] = [];
      for (const kind of ['mailbox_rested', 'domain_dns_failed', 'mailbox_rested', 'mailbox_rested', 'campaign_failed']) {
        made.push((await insertAlert(stack.pool, { clientId: a.id, kind, subjectType: 'mailbox', subjectId: randomUUID(), message: kind })).id);
      }
      const theirs = await insertAlert(stack.pool, { clientId: b.id, kind: 'mailbox_rested', subjectType: 'mailbox', subjectId: randomUUID(), message: 'b' });
      const agency = await insertAlert(stack.pool, { clientId: null, kind: 'provider_switched', subjectType: 'provider', subjectId: randomUUID(), message: 'agency' });

      const listed = await all<AlertItem>('/v1/alerts', a.apiKey);
      expect(listed).toEqual({ ids: [...made].reverse(), pages: 3 });
      const rested = json<Page<AlertItem>>(await call('GET', '/v1/alerts?kind=mailbox_rested', a.apiKey));
      expect(rested.items.map((i) => i.id)).toEqual([made[3], made[2], made[0]]);

      // Acknowledge: resolved_at is written once, by whom; the open/acknowledged filters follow.
      expect((await stack.pool.query('SELECT resolved_at FROM alerts WHERE id = $1', [made[2]])).rows[0].resolved_at).toBeNull();
      const ack = await call('POST', `/v1/alerts/${made[2]}/ack`, a.apiKey);
      expect(ack.statusCode).toBe(200);
      const acked = json<AlertItem>(ack);
      expect(acked).toMatchObject({ id: made[2], resolvedBy: expect.stringMatching(/^key:/) });
      expect(Date.parse(acked.resolvedAt!)).not.toBeNaN();
      const { rows } = await stack.pool.query<{ resolved_at: Date }>('SELECT resolved_at FROM alerts WHERE id = $1', [made[2]]);
      expect(rows[0]!.resolved_at.toISOString()).toBe(acked.resolvedAt);
      const again = json<AlertItem>(await call('POST', `/v1/alerts/${made[2]}/ack`, stack.adminKey));
      expect(again).toMatchObject({ resolvedAt: acked.resolvedAt, resolvedBy: acked.resolvedBy });
      expect(json<Page<AlertItem>>(await call('GET', '/v1/alerts?state=acknowledged', a.apiKey)).items.map((i) => i.id)).toEqual([made[2]]);
      expect(json<Page<AlertItem>>(await call('GET', '/v1/alerts?state=open&kind=mailbox_rested', a.apiKey)).items.map((i) => i.id)).toEqual([made[3], made[0]]);

      // Tenancy: B neither sees nor acknowledges A's (404, nothing written); A never sees the agency's.
      expect((await all<AlertItem>('/v1/alerts', b.apiKey)).ids).toEqual([theirs.id]);
      expect((await call('POST', `/v1/alerts/${made[0]}/ack`, b.apiKey)).statusCode).toBe(404);
      expect((await call('POST', `/v1/alerts/${agency.id}/ack`, a.apiKey)).statusCode).toBe(404);
      expect((await stack.pool.query('SELECT count(*)::int AS n FROM alerts WHERE id = ANY($1) AND resolved_at IS NOT NULL', [[made[0], agency.id]])).rows[0].n).toBe(0);
      const naming = await call('GET', `/v1/alerts?clientId=${b.id}`, a.apiKey);
      expect([naming.statusCode, paths(naming)]).toEqual([403, ['clientId']]);

      // The operator: every client's, one client's, or the agency's own.
      const every = json<Page<AlertItem>>(await call('GET', '/v1/alerts?limit=500', stack.adminKey)).items.map((i) => i.id);
      expect(every).toEqual(expect.arrayContaining([...made, theirs.id, agency.id]));
      expect(json<Page<AlertItem>>(await call('GET', `/v1/alerts?clientId=${b.id}`, stack.adminKey)).items.map((i) => i.id)).toEqual([theirs.id]);
      const own = json<Page<AlertItem>>(await call('GET', '/v1/alerts?clientId=agency&limit=500', stack.adminKey)).items;
      expect(own.map((i) => i.id)).toContain(agency.id);
      expect(own.every((i) => i.clientId === null)).toBe(true);
      expect(json<AlertItem>(await call('POST', `/v1/alerts/${agency.id}/ack`, stack.adminKey)).resolvedBy).toBe('operator');

      for (const [q, path] of [['state=closed', 'query.state'], ['kind=Bad Kind', 'query.kind'], ['subjectType=planet', 'query.subjectType'], ['cursor=1', 'query.cursor']] as const) {
        const res = await call('GET', `/v1/alerts?${q}`, a.apiKey);
        expect({ q, status: res.statusCode, paths: paths(res) }).toEqual({ q, status: 400, paths: [path] });
      }
      expect((await call('POST', '/v1/alerts/not-an-id/ack', a.apiKey)).statusCode).toBe(400);
    });
  });

  it('GET /v1/provider-switches: the operator pages through breaker transitions, newest first, by provider; a client key gets a 404', async () => {
    const p1 = await newProvider(stack, 'smtp', { host: '127.0.0.1', port: 2525 });
    const p2 = await newProvider(stack, 'smtp', { host: '127.0.0.1', port: 2526 });
    expect(await transitionBreaker(stack.pool, p1.id, ['closed'], 'open', 'failure rate 60%', new Date())).toBe(true);
    expect(await transitionBreaker(stack.pool, p2.id, ['closed'], 'open', 'failure rate 70%', new Date())).toBe(true);
    expect(await transitionBreaker(stack.pool, p1.id, ['open'], 'half_open', 'probe', null)).toBe(true);
    expect(await transitionBreaker(stack.pool, p1.id, ['half_open'], 'closed', 'probe succeeded', null)).toBe(true);

    const mine = await all<{ id: string }>(`/v1/provider-switches?providerId=${p1.id}`, stack.adminKey);
    expect(mine.pages).toBe(2);
    const items = json<Page<{ id: string; providerId: string; provider: string; fromState: string; toState: string; reason: string }>>(
      await call('GET', `/v1/provider-switches?providerId=${p1.id}`, stack.adminKey)).items;
    expect(items.map((s) => s.id)).toEqual(mine.ids);
    expect(items.map((s) => [s.fromState, s.toState, s.reason, s.provider])).toEqual([
      ['half_open', 'closed', 'probe succeeded', p1.name],
      ['open', 'half_open', 'probe', p1.name],
      ['closed', 'open', 'failure rate 60%', p1.name],
    ]);
    const opened = json<Page<{ providerId: string }>>(await call('GET', '/v1/provider-switches?toState=open&limit=500', stack.adminKey)).items;
    expect(opened.map((s) => s.providerId)).toEqual(expect.arrayContaining([p1.id, p2.id]));
    expect(opened.every((s) => (s as { toState?: string }).toState === 'open')).toBe(true);

    const client = await newClient(stack);
    const refused = await call('GET', '/v1/provider-switches', client.apiKey);
    expect([refused.statusCode, json<ErrorBody>(refused).error.code]).toEqual([404, 'not_found']);
    const bad = await call('GET', '/v1/provider-switches?toState=melted', stack.adminKey);
    expect([bad.statusCode, paths(bad)]).toEqual([400, ['query.toState']]);
  });

  it("GET /v1/domains/:id shows the domain's latest rotation log rows, bounded; another client's domain is a 404", async () => {
    const a = await newClient(stack);
    const b = await newClient(stack);
    const domain = `rot-${randomUUID().slice(0, 8)}.example.com`;
    const id = (await verifyStackDomains(stack, a.apiKey, [domain])).get(domain)!;
    const run = `run-${randomUUID().slice(0, 8)}`;
    for (let i = 0; i < 4; i++) await logRotation(stack.pool, `${run}-${i}`, i % 2 ? 'configuration_set_rotated' : 'domain_checked', 'domain', id, { i });
    await logRotation(stack.pool, run, 'domain_checked', 'domain', randomUUID(), { other: true });
    // Distinct times, newest last (rows written in one millisecond would tie on at).
    await stack.pool.query("UPDATE rotation_log SET at = now() - make_interval(mins => 10 - (detail->>'i')::int) WHERE subject_id = $1", [id]);

    const view = json<{ id: string; rotationHistory: { action: string; runId: string; detail: { i: number } }[] }>(await call('GET', `/v1/domains/${id}`, a.apiKey));
    expect(view.id).toBe(id);
    expect(view.rotationHistory.map((h) => [h.detail.i, h.action, h.runId])).toEqual([
      [3, 'configuration_set_rotated', `${run}-3`], [2, 'domain_checked', `${run}-2`], [1, 'configuration_set_rotated', `${run}-1`], [0, 'domain_checked', `${run}-0`],
    ]);
    const bounded = json<{ rotationHistory: { detail: { i: number } }[] }>(await call('GET', `/v1/domains/${id}?historyLimit=2`, a.apiKey));
    expect(bounded.rotationHistory.map((h) => h.detail.i)).toEqual([3, 2]);
    expect(json<{ rotationHistory: unknown[] }>(await call('GET', `/v1/domains/${id}`, stack.adminKey)).rotationHistory).toHaveLength(4);

    expect((await call('GET', `/v1/domains/${id}`, b.apiKey)).statusCode).toBe(404);
    const bad = await call('GET', `/v1/domains/${id}?historyLimit=1000`, a.apiKey);
    expect([bad.statusCode, paths(bad)]).toEqual([400, ['query.historyLimit']]);
  });

  it('PATCH /v1/templates/:id: bad input is a 400 naming the field and makes no version; another client\'s is a 404', async () => {
    const a = await newClient(stack);
    const b = await newClient(stack);
    const created = json<{ id: string }>(await call('POST', '/v1/templates', a.apiKey, {
      name: 't', subject: 'Hi {{plan}}', text: 'About {{plan}}. {{unsubscribeUrl}}', variables: ['plan'],
    }));
    const versions = async () => (await stack.pool.query('SELECT version, subject FROM template_versions WHERE template_id = $1 ORDER BY version', [created.id])).rows;
    expect(await versions()).toEqual([{ version: 1, subject: 'Hi {{plan}}' }]);

    for (const [payload, path] of [
      [{ subject: 'Hi {{nickname}}' }, 'subject'], // an undeclared placeholder
      [{ text: 'no link' }, 'text'], // no unsubscribe link
      [{ html: '<p>{{unsubscribeUrl</p>' }, 'html'],
      [{ subject: '' }, 'subject'],
      [{ name: 'x'.repeat(201) }, 'name'],
      [{ variables: ['1bad'], subject: 'x' }, 'variables.0'],
      [{}, ''],
      [{ colour: 'red' }, ''],
    ] as const) {
      const res = await call('PATCH', `/v1/templates/${created.id}`, a.apiKey, payload);
      expect({ payload, status: res.statusCode }).toEqual({ payload, status: 400 });
      if (path) expect({ payload, paths: paths(res) }).toEqual({ payload, paths: expect.arrayContaining([expect.stringMatching(new RegExp(`^${path.replace(/\./g, '\\.')}`))]) });
    }
    expect((await call('PATCH', `/v1/templates/${created.id}`, b.apiKey, { name: 'stolen' })).statusCode).toBe(404);
    expect((await call('DELETE', `/v1/templates/${created.id}`, b.apiKey)).statusCode).toBe(404);
    expect(await versions()).toEqual([{ version: 1, subject: 'Hi {{plan}}' }]);

    // A placeholder the current version already uses stays known; a new one is declared in variables.
    const renamed = await call('PATCH', `/v1/templates/${created.id}`, a.apiKey, { name: 'renamed' });
    expect(json(renamed)).toMatchObject({ name: 'renamed', version: 2, subject: 'Hi {{plan}}' });
    const added = await call('PATCH', `/v1/templates/${created.id}`, a.apiKey, { subject: 'Hi {{plan}} {{tier}}', variables: ['tier'], html: '<p>{{plan}} <a href="{{unsubscribeUrl}}">u</a></p>' });
    expect(json(added)).toMatchObject({ version: 3, subject: 'Hi {{plan}} {{tier}}', html: expect.stringContaining('<p>') });
    const dropped = await call('PATCH', `/v1/templates/${created.id}`, a.apiKey, { html: null });
    expect(json(dropped)).toMatchObject({ version: 4, html: null });
    expect((await versions()).map((v) => v.version)).toEqual([1, 2, 3, 4]);
    expect(json(await call('GET', `/v1/templates/${created.id}`, a.apiKey))).toMatchObject({ name: 'renamed', version: 4, html: null });
  });
});
