import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { routeTable, type RouteEntry } from '../../api/plugins/auth';
import { insertAlert } from '../../db/repositories/alerts';
import { createTestDatabase } from '../helpers/databases';
import { fillPath, pathParams } from '../helpers/routes';
import { bearer, json, newClient, newSmtpProvider, startStack, type Stack } from '../helpers/stack';
import { verifyStackDomains } from '../helpers/verified-domains';
import { testEnv } from '../helpers/test-env';

/**
 * Issue 11: the BOLA matrix. Built from the registered route table, not a
 * hand list: every /v1 route with a path id is called with client B's key and
 * client A's ids (and, on routes with several ids, every mix of A's and B's
 * but B's alone). Each answers 404, leaks none of A's ids, and changes no row
 * of any table. A path id whose kind this test cannot supply fails it, so a
 * new route is covered the day it is added.
 */

type Kind = 'client' | 'key' | 'campaign' | 'template' | 'mailbox' | 'domain' | 'lead' | 'alert' | 'suppression' | 'provider' | 'send';

/** The kind of a path id is named by the segment before it: /v1/<segment>/:param. */
const KIND_BY_SEGMENT: Record<string, Kind> = {
  clients: 'client',
  keys: 'key',
  campaigns: 'campaign',
  templates: 'template',
  mailboxes: 'mailbox',
  domains: 'domain',
  leads: 'lead',
  alerts: 'alert',
  suppressions: 'suppression',
  providers: 'provider', // the agency's accounts: operator routes, so a client key meets a 404 whichever account
  sends: 'send',
};

/** Valid bodies, so that a refusal is about ownership, not validation (a route missing here answers 400 and fails). */
const BODIES: Record<string, object> = {
  'POST /v1/campaigns/:id/leads': { leads: [{ email: 'intruder@example.org' }] },
  'POST /v1/templates/:id/preview': { lead: { email: 'intruder@example.org' } },
  'POST /v1/mailboxes/:id/pause': { reason: 'intruder' },
  'POST /v1/clients/:id/keys': { label: 'intruder' },
  'PUT /v1/mailboxes/:id/imap': { host: '127.0.0.1', port: 1, tls: false, user: 'intruder', password: 'intruder' },
  'PATCH /v1/mailboxes/:id': { limits: { dailyMax: 1 }, displayName: 'intruder' },
  'PATCH /v1/campaigns/:id': { name: 'intruder' },
  'PATCH /v1/templates/:id': { name: 'intruder' },
  'PATCH /v1/providers/:id': { pricing: { kind: 'per_message', usd: 0 } },
};

type Resources = Record<Kind, string>;

/** Every row of every table (api_keys.last_used_at aside: using a key touches it), sorted. */
async function dumpDatabase(pool: Pool): Promise<Record<string, string[]>> {
  const { rows: tables } = await pool.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables
     WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations' ORDER BY 1`,
  );
  const dump: Record<string, string[]> = {};
  for (const { name } of tables) {
    const { rows } = await pool.query<{ r: Record<string, unknown> }>(`SELECT to_jsonb(t) AS r FROM "${name}" t`);
    dump[name] = rows
      .map(({ r }) => {
        if (name === 'api_keys') delete r.last_used_at;
        return JSON.stringify(r);
      })
      .sort();
  }
  return dump;
}

function kindOf(route: RouteEntry, param: string): Kind | undefined {
  const parts = route.url.split('/');
  const i = parts.indexOf(param === '*' ? '*' : `:${param}`);
  return KIND_BY_SEGMENT[parts[i - 1] ?? ''];
}

describe('BOLA matrix: another client\'s ids on every /v1 route with a path id', () => {
  let db: { url: string; drop(): Promise<void> };
  let stack: Stack;
  const owners: { a: Resources; b: Resources; aKey: string; bKey: string } = {} as never;

  async function resourcesOf(clientName: string, provider: { id: string; name: string }): Promise<{ key: string; ids: Resources }> {
    const providerName = provider.name;
    const c = await newClient(stack, clientName);
    const call = async (method: 'POST', url: string, payload: object, key = c.apiKey) => {
      const res = await stack.app.inject({ method, url, headers: bearer(key), payload });
      if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
      return json<Record<string, unknown>>(res);
    };
    const tag = randomUUID().slice(0, 8);
    // The mailbox's domain: registered and proved over DNS first (imports take only verified domains); it is A's domain resource too.
    const domainId = (await verifyStackDomains(stack, c.apiKey, [`${tag}.example.com`])).get(`${tag}.example.com`)!;
    const mailbox = await call('POST', '/v1/mailboxes', {
      mailboxes: [{ address: `sender-${tag}@${tag}.example.com`, providers: [providerName], pool: `pool-${tag}` }],
    });
    const template = await call('POST', '/v1/templates', { name: 't', subject: 's', text: 'hi {{unsubscribeUrl}}' });
    const campaign = await call('POST', '/v1/campaigns', {
      name: 'c', steps: [{ templateId: template.id, delayDays: 0 }], mailboxes: { pool: `pool-${tag}` },
    });
    await call('POST', `/v1/campaigns/${campaign.id as string}/leads`, { leads: [{ email: `lead-${tag}@example.net` }] });
    const key = await call('POST', `/v1/clients/${c.id}/keys`, { label: 'second' }, stack.adminKey);
    const lead = await stack.pool.query<{ id: string }>('SELECT id FROM leads WHERE campaign_id = $1', [campaign.id]);
    const alert = await insertAlert(stack.pool, { clientId: c.id, kind: 'mailbox_rested', subjectType: 'mailbox', subjectId: (mailbox.ids as string[])[0]!, message: 'resting' });
    const suppressed = `suppressed-${tag}@example.net`;
    await call('POST', '/v1/suppressions', { emails: [suppressed] });
    // A dry-run send of A's with its preview (issue 14): GET /v1/campaigns/:id/sends/:sendId/preview.
    const sendId = randomUUID();
    await stack.pool.query(
      `INSERT INTO sends (id, client_id, campaign_id, lead_id, step, mailbox_id, status) VALUES ($1, $2, $3, $4, 0, $5, 'dry_run')`,
      [sendId, c.id, campaign.id, lead.rows[0]!.id, (mailbox.ids as string[])[0]!],
    );
    await stack.pool.query(`INSERT INTO send_previews (send_id, client_id, campaign_id, message) VALUES ($1, $2, $3, '{}')`, [sendId, c.id, campaign.id]);
    return {
      key: c.apiKey,
      ids: {
        client: c.id,
        key: key.id as string,
        campaign: campaign.id as string,
        template: template.id as string,
        mailbox: (mailbox.ids as string[])[0]!,
        domain: domainId,
        lead: lead.rows[0]!.id,
        alert: alert.id,
        suppression: suppressed,
        provider: provider.id,
        send: sendId,
      },
    };
  }

  beforeAll(async () => {
    db = await createTestDatabase(testEnv('adminDatabaseUrl'), 'outreach_bola');
    stack = await startStack({ env: { DATABASE_URL: db.url } });
    const provider = await newSmtpProvider(stack, 2525);
    const a = await resourcesOf('tenant A', provider);
    const b = await resourcesOf('tenant B', provider);
    Object.assign(owners, { a: a.ids, b: b.ids, aKey: a.key, bKey: b.key });
  });
  afterAll(async () => {
    await stack?.close();
    await db?.drop();
  });

  it("A's ids are real rows of A's", async () => {
    const tables: Record<Exclude<Kind, 'provider'>, string> = {
      client: 'clients', key: 'api_keys', campaign: 'campaigns', template: 'templates',
      mailbox: 'mailboxes', domain: 'sending_domains', lead: 'leads', alert: 'alerts', suppression: 'suppressions', send: 'sends',
    };
    for (const [kind, table] of Object.entries(tables) as [Exclude<Kind, 'provider'>, string][]) {
      if (kind === 'suppression') {
        const { rows } = await stack.pool.query('SELECT 1 FROM suppressions WHERE email = $1 AND client_id = $2', [owners.a.suppression, owners.a.client]);
        expect({ kind, found: rows.length }).toEqual({ kind, found: 1 });
        continue;
      }
      const column = kind === 'client' ? 'id' : 'client_id';
      const { rows } = await stack.pool.query(`SELECT 1 FROM ${table} WHERE id = $1 AND ${column} = $2`, [owners.a[kind], owners.a.client]);
      expect({ kind, found: rows.length }).toEqual({ kind, found: 1 });
    }
  });

  it('every /v1 route with a path id answers 404 to B for A\'s ids and changes no row', async () => {
    const routes = routeTable(stack.app).filter((r) => r.url.startsWith('/v1') && pathParams(r.url).length > 0 && r.method !== 'OPTIONS');
    expect(routes.length).toBeGreaterThanOrEqual(20);
    for (const must of [
      'DELETE /v1/clients/:id/keys/:keyId', 'POST /v1/campaigns/:id/start', 'POST /v1/domains/:id/restore',
      'PATCH /v1/campaigns/:id', 'DELETE /v1/campaigns/:id', 'PATCH /v1/templates/:id', 'DELETE /v1/templates/:id',
      'GET /v1/mailboxes/:id/sends', 'DELETE /v1/suppressions/:email', 'POST /v1/alerts/:id/ack',
      'GET /v1/campaigns/:id/cost', 'GET /v1/clients/:id/cost', 'PATCH /v1/providers/:id',
    ]) {
      expect(routes.map((r) => `${r.method} ${r.url}`)).toContain(must);
    }

    const unsupplied = routes.flatMap((r) => pathParams(r.url).filter((p) => !kindOf(r, p)).map((p) => `${r.method} ${r.url} (${p})`));
    expect(unsupplied).toEqual([]);

    const aIds = Object.values(owners.a);
    let before = await dumpDatabase(stack.pool);
    const wrong: string[] = [];
    let calls = 0;
    for (const route of routes) {
      const params = pathParams(route.url);
      // Every mix of A's and B's ids with at least one of A's.
      for (let mask = 1; mask < 1 << params.length; mask++) {
        const values = Object.fromEntries(params.map((p, i) => [p, (mask & (1 << i) ? owners.a : owners.b)[kindOf(route, p)!]]));
        const url = fillPath(route.url, values);
        const body = BODIES[`${route.method} ${route.url}`];
        const res = await stack.app.inject({
          method: route.method as 'GET',
          url,
          headers: bearer(owners.bKey),
          ...(body ? { payload: body } : {}),
        });
        calls++;
        const label = `${route.method} ${url} (${route.url})`;
        if (res.statusCode !== 404) wrong.push(`${label}: ${res.statusCode} ${res.body.slice(0, 160)}`);
        else if (route.method !== 'HEAD' && json<{ error?: { code?: string } }>(res).error?.code !== 'not_found') wrong.push(`${label}: ${res.body}`);
        const leaked = aIds.filter((id) => res.body.includes(id) && !url.includes(id));
        if (leaked.length) wrong.push(`${label} leaks ${leaked.join(', ')}`);
        const after = await dumpDatabase(stack.pool);
        for (const table of Object.keys(before)) {
          if (JSON.stringify(after[table]) !== JSON.stringify(before[table])) wrong.push(`${label} changed table ${table}`);
        }
        before = after; // each change is blamed on the call that made it
      }
    }
    expect(calls).toBeGreaterThanOrEqual(routes.length);
    expect(wrong).toEqual([]);
  });
});
