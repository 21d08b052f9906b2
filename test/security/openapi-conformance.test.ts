import { execFile } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { schemathesisCommand } from '../../scripts/schemathesis';
import { newClient, startStack, type Stack } from '../helpers/stack';

const run = promisify(execFile);

/**
 * The OpenAPI document is the contract: schemathesis (from PyPI, installed by
 * .ci/run through scripts/schemathesis.ts) generates requests from it, valid
 * and invalid, against the real API on a real database and Temporal server,
 * and fails on any 5xx, any status the document does not list, and any error
 * body that does not match the documented error schema. Once with a client
 * key (client and `any` routes; operator routes answer their documented 404)
 * and once with the operator key.
 */
describe('the OpenAPI document, checked by schemathesis', () => {
  let stack: Stack;
  let base: string;
  let clientKey: string;

  beforeAll(async () => {
    // The fuzzer is one address and one key sending thousands of requests, some with bad keys: limits out of its way.
    stack = await startStack({ worker: true, env: { RATE_LIMIT_PER_IP: '1000000', RATE_LIMIT_PER_KEY: '1000000', RATE_LIMIT_AUTH_FAILURES_PER_IP: '1000000' } });
    clientKey = (await newClient(stack)).apiKey;
    await stack.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(stack.app.server.address() as AddressInfo).port}`;
  });
  afterAll(() => stack?.close());

  /**
   * One run; again once when the run failed only on an error inside schemathesis itself (a "Runtime Error"
   * of its generator, with no check failed): a tool fault is not a finding, but a finding always fails.
   */
  async function schemathesis(key: string): Promise<{ code: number; out: string }> {
    const first = await schemathesisOnce(key);
    const toolFault = (out: string) => !out.includes('= FAILURES =') && out.includes('Runtime Error');
    if (first.code === 0 || !toolFault(first.out)) return first;
    process.stderr.write('schemathesis stopped on an internal error (no check failed); running it once more\n');
    return schemathesisOnce(key);
  }

  async function schemathesisOnce(key: string): Promise<{ code: number; out: string }> {
    const [cmd, ...pre] = await schemathesisCommand();
    const args = [
      ...pre,
      'run',
      `${base}/docs/json`,
      '--checks',
      'all',
      // Stateful links and auth-bypass probes need resources the fuzzer cannot create in order; the per-request checks cover the contract.
      '--exclude-checks',
      'ignored_auth,use_after_free,ensure_resource_availability,positive_data_acceptance',
      '--phases',
      'examples,coverage,fuzzing',
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
    const { code, out } = await schemathesis(clientKey);
    if (code !== 0) process.stderr.write(failures(out));
    expect(code).toBe(0);
  }, 10 * 60_000);

  it('finds no server error and no undocumented status with the operator key', async () => {
    const { code, out } = await schemathesis(stack.adminKey);
    if (code !== 0) process.stderr.write(failures(out));
    expect(code).toBe(0);
  }, 10 * 60_000);
});

/** The report's FAILURES section (each failing case, with its curl to reproduce) and its summary. */
function failures(out: string): string {
  const start = out.indexOf('= FAILURES =');
  const section = start >= 0 ? out.slice(out.lastIndexOf('\n', start) + 1) : out;
  return section.slice(0, 40_000);
}
