import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { schemathesisCommand } from '../../scripts/schemathesis';
import { routeTable } from '../../api/plugins/auth';
import { insertAlert } from '../../db/repositories/alerts';
import { campaignWithLeads, newProvider } from '../helpers/campaign-fixture';
import { bearer, json, newClient, startStack, type Stack } from '../helpers/stack';

const run = promisify(execFile);

/**
 * The OpenAPI document is the contract: schemathesis (from PyPI, installed by
 * .ci/run through scripts/schemathesis.ts) generates requests from it, valid
 * and invalid, against the real API on a real database and Temporal server,
 * and fails on any 5xx, any status the document does not list, and any error
 * body that does not match the documented error schema. Every check
 * (`--checks all`) and every phase, stateful sequences included.
 *
 * - With a client key, each path id is one of that client's real resources
 *   (a config file binds them), so fuzzed bodies reach the handler behind
 *   the id, not only its 404: a draft campaign, its template, mailbox and
 *   domain, and a spare key of the client (the fuzzer may revoke it).
 * - With the operator key, ids are generated: unknown and malformed ids get
 *   their documented 404 and 400.
 */
describe('the OpenAPI document, checked by schemathesis', () => {
  let stack: Stack;
  let base: string;
  let clientKey: string;
  let dir: string;
  let clientConfig: string;

  beforeAll(async () => {
    // The fuzzer is one address and one key sending thousands of requests, some with bad keys: limits out of its way.
    stack = await startStack({ worker: true, env: { RATE_LIMIT_PER_IP: '1000000', RATE_LIMIT_PER_KEY: '1000000', RATE_LIMIT_AUTH_FAILURES_PER_IP: '1000000' } });
    const client = await newClient(stack);
    clientKey = client.apiKey;
    const provider = await newProvider(stack, 'smtp', { host: '127.0.0.1', port: 2525 });
    const c = await campaignWithLeads(stack, client, { providers: [provider.name], mailboxes: 1, leads: 2 });
    const { rows: [domain] } = await stack.pool.query<{ id: string }>('SELECT id FROM sending_domains WHERE client_id = $1 LIMIT 1', [client.id]);
    const spare = await stack.app.inject({ method: 'POST', url: `/v1/clients/${client.id}/keys`, headers: bearer(stack.adminKey), payload: { label: 'fuzzer may revoke' } });
    // An alert and a suppressed address of the client's (issue 13): the fuzzer's acks and removals reach their handlers.
    const alert = await insertAlert(stack.pool, { clientId: client.id, kind: 'mailbox_rested', subjectType: 'mailbox', subjectId: c.mailboxIds[0]!, message: 'resting' });
    const suppressed = 'fuzzed-removal@example.net';
    await stack.app.inject({ method: 'POST', url: '/v1/suppressions', headers: bearer(client.apiKey), payload: { emails: [suppressed] } });
    const ids: [string, Record<string, string>][] = [
      ['^/v1/campaigns/\\{id\\}', { 'path.id': c.campaignId }],
      ['^/v1/templates/\\{id\\}', { 'path.id': c.templateId }],
      ['^/v1/mailboxes/\\{id\\}', { 'path.id': c.mailboxIds[0]! }],
      ['^/v1/domains/\\{id\\}', { 'path.id': domain!.id }],
      ['^/v1/clients/\\{id\\}', { 'path.id': client.id, 'path.keyId': json<{ id: string }>(spare).id }],
      ['^/v1/alerts/\\{id\\}', { 'path.id': alert.id }],
      ['^/v1/suppressions/\\{email\\}', { 'path.email': suppressed }],
    ];
    dir = await mkdtemp(path.join(tmpdir(), 'schemathesis-'));
    await writeFile(path.join(dir, 'operator.toml'), STATE_RULES + '\n' + otherAudience(stack.app, 'operator'));
    clientConfig = path.join(dir, 'client.toml');
    await writeFile(clientConfig, STATE_RULES + '\n' + otherAudience(stack.app, 'client') + '\n' + ids.map(([re, params]) => [
      '[[operations]]',
      `include-path-regex = '${re}'`, // a TOML literal string: the backslashes stay
      `parameters = { ${Object.entries(params).map(([k, v]) => `"${k}" = "${v}"`).join(', ')} }`,
      '',
    ].join('\n')).join('\n'));
    await stack.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(stack.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await stack?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /**
   * One run; again once when the run failed only on an error inside schemathesis itself (a "Runtime Error"
   * of its generator, with no check failed): a tool fault is not a finding, but a finding always fails.
   */
  async function schemathesis(key: string, config?: string): Promise<{ code: number; out: string }> {
    const first = await schemathesisOnce(key, config);
    const toolFault = (out: string) => !out.includes('= FAILURES =') && out.includes('Runtime Error');
    if (first.code === 0 || !toolFault(first.out)) return first;
    process.stderr.write('schemathesis stopped on an internal error (no check failed); running it once more\n');
    return schemathesisOnce(key, config);
  }

  async function schemathesisOnce(key: string, config?: string): Promise<{ code: number; out: string }> {
    const [cmd, ...pre] = await schemathesisCommand();
    const args = [
      ...pre,
      ...(config ? ['--config-file', config] : []),
      'run',
      `${base}/docs/json`,
      '--checks',
      'all',
      '--phases',
      'examples,coverage,fuzzing,stateful',
      '--max-examples',
      '10',
      '--workers',
      '2',
      '--seed',
      '1',
      // Health checks of the generator, not of the API: the domain-name pattern makes it discard many drafts, and a loaded machine makes it slow.
      '--suppress-health-check',
      'filter_too_much,too_slow',
      '--no-color',
      '-H',
      `Authorization: Bearer ${key}`,
    ];
    try {
      const { stdout, stderr } = await run(cmd!, args, { maxBuffer: 64 * 1024 * 1024, timeout: 8 * 60_000, env: { ...process.env, NO_COLOR: '1' } });
      return { code: 0, out: stdout + stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
    }
  }

  it('finds no server error and no undocumented status with a client key', async () => {
    const { code, out } = await schemathesis(clientKey, clientConfig);
    if (code !== 0) process.stderr.write(failures(out));
    expect(code).toBe(0);
  }, 10 * 60_000);

  it('finds no server error and no undocumented status with the operator key', async () => {
    const { code, out } = await schemathesis(stack.adminKey, path.join(dir, 'operator.toml'));
    if (code !== 0) process.stderr.write(failures(out));
    expect(code).toBe(0);
  }, 10 * 60_000);
});

/**
 * Every schema-valid request must be accepted (positive_data_acceptance), except for operations with a
 * rule no JSON Schema can state; each is listed with its rule, and is still held to every other check:
 * - POST /v1/templates: the template grammar (placeholders, spintax, an unsubscribe link), a 400 by API.md;
 * - POST /v1/campaigns: a window's start before its end, startAt not in the past, ids that exist;
 * - POST /v1/domains: configurationSet one of configurationSets;
 * - POST /v1/mailboxes: rows are checked one by one and reported by index (a 400 when none imports),
 *   and their domains must be verified (a 422);
 * - POST /v1/clients/{id}/keys: expiresAt in the future;
 * - POST /v1/domains/{id}/verify: the DNS record must be published (a 422 until it is);
 * - POST /v1/templates/{id}/preview: variable names (letters, digits and _), a key pattern OpenAPI 3.0 cannot state;
 * - PATCH /v1/templates/{id}: the template grammar on the edited result, and at least one of name, subject, text, html;
 * - PATCH /v1/campaigns/{id}: as POST /v1/campaigns, on the edited result;
 * - DELETE /v1/suppressions/{email}: clientId is required with the operator key (and only allowed with it);
 * - PATCH /v1/mailboxes/{id}: a window's start before its end, a ramp's max not under its start, provider names that exist.
 * A schema-violating request may also be refused as too large (413): a refusal all the same.
 */
const STATE_RULES = [
  ['POST /v1/templates', ['400']],
  ['POST /v1/campaigns', ['400']],
  ['POST /v1/domains', ['400']],
  ['POST /v1/mailboxes', ['400', '422']],
  ['POST /v1/clients/{id}/keys', ['400']],
  ['POST /v1/domains/{id}/verify', ['422']],
  ['POST /v1/templates/{id}/preview', ['400']],
  ['PATCH /v1/templates/{id}', ['400']],
  ['PATCH /v1/campaigns/{id}', ['400']],
  ['DELETE /v1/suppressions/{email}', ['400']],
  ['PATCH /v1/mailboxes/{id}', ['400']],
  ['GET /v1/clients/{id}/cost', ['400']], // from before to: two fields no JSON schema compares
].map(([name, extra]) => operation(name as string, [
  `checks.positive_data_acceptance.expected-statuses = [${['2xx', '3xx', '401', '403', '404', '409', '429', ...extra!].map((c) => `"${c}"`).join(', ')}]`,
])).join('\n') + `
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]
`;

/** One [[operations]] block for the operation named `METHOD /path` (one filter: several include keys would match any of them). */
function operation(name: string, settings: string[]): string {
  return ['[[operations]]', `include-name = "${name}"`, ...settings, ''].join('\n');
}

/**
 * The other audience's routes stay in the examples, coverage and fuzzing phases (their documented 404 or 403 is checked),
 * but out of stateful sequences: a client's domain followed by the operator-only override is a 404 by design, not a lost resource.
 */
function otherAudience(app: Stack['app'], own: 'client' | 'operator'): string {
  const other = own === 'client' ? 'operator' : 'client';
  return routeTable(app)
    .filter((r) => r.auth === other && r.url.startsWith('/v1'))
    .map((r) => operation(`${r.method} ${r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`, ['phases.stateful.enabled = false']))
    .join('\n');
}

/** The report's FAILURES section (each failing case, with its curl to reproduce) and its summary. */
function failures(out: string): string {
  const start = out.indexOf('= FAILURES =');
  const section = start >= 0 ? out.slice(out.lastIndexOf('\n', start) + 1) : out;
  return section.slice(0, 40_000);
}
