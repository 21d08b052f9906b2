/**
 * `npm run replay`: the deploy gate for workflow code. Replays histories on
 * the current workflow code and fails, naming each one, if any does not
 * replay (a nondeterminism error: a command added, removed or reordered
 * without a patch, see "Deploying workflow code" in the README).
 *
 * - default: every committed history in test/fixtures/histories (sealed with
 *   the fixture key, FIXTURE_PAYLOAD_KEY). `.ci/run` runs this.
 * - `--from-server`: the histories of the open workflows on the server at
 *   TEMPORAL_ADDRESS (TEMPORAL_NAMESPACE), read with TEMPORAL_PAYLOAD_KEY and
 *   TEMPORAL_PAYLOAD_OLD_KEYS; `--query '<visibility query>'` narrows or
 *   widens the default `ExecutionStatus="Running"`. Run it against
 *   production with the code about to be deployed.
 *
 * The code replayed is dist/workflow-bundle.js when it exists (what a
 * compiled worker loads; `--bundle <path>` for another), else the workflows
 * bundled from source.
 */
import { Client, Connection } from '@temporalio/client';
import type { DataConverter, HistoryAndWorkflowId } from '@temporalio/common';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import type { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { dataConverterFrom, FAILURE_CONVERTER_PATH } from '../core/codec';

const ROOT = path.join(__dirname, '..');
export const FIXTURES_DIR = path.join(ROOT, 'test', 'fixtures', 'histories');
/** The fixed, test-only payload key the committed fixtures are sealed with. */
export const FIXTURE_PAYLOAD_KEY = Buffer.alloc(32, 7).toString('base64');

export interface NamedHistory {
  workflowId: string;
  history: temporal.api.history.v1.IHistory;
}

export interface ReplayFailure {
  workflowId: string;
  error: string;
}

/** The committed fixtures, by file name. */
export async function fixtureHistories(dir = FIXTURES_DIR): Promise<NamedHistory[]> {
  const out: NamedHistory[] = [];
  for (const f of (await readdir(dir)).filter((n) => n.endsWith('.json')).sort()) {
    out.push({ workflowId: `fixture-${f}`, history: historyFromJSON(JSON.parse(await readFile(path.join(dir, f), 'utf8'))) });
  }
  return out;
}

/** Replays every history on the given workflow code; what failed, with why. */
export async function replayHistories(
  histories: Iterable<NamedHistory | HistoryAndWorkflowId> | AsyncIterable<NamedHistory | HistoryAndWorkflowId>,
  code: { workflowBundle: { codePath: string } } | { workflowBundle: { code: string } },
  dataConverter: { dataConverter?: DataConverter },
): Promise<{ replayed: number; failures: ReplayFailure[] }> {
  let replayed = 0;
  const failures: ReplayFailure[] = [];
  for await (const r of Worker.runReplayHistories({ ...code, ...dataConverter }, histories)) {
    replayed++;
    if (r.error) failures.push({ workflowId: r.workflowId, error: `${r.error.name}: ${r.error.message}` });
  }
  return { replayed, failures };
}

async function workflowCode(bundle: string | undefined): Promise<{ workflowBundle: { codePath: string } } | { workflowBundle: { code: string } }> {
  const prebuilt = bundle ?? path.join(ROOT, 'dist', 'workflow-bundle.js');
  if (existsSync(prebuilt)) return { workflowBundle: { codePath: prebuilt } };
  if (bundle) throw new Error(`--bundle ${bundle}: no such file`);
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(ROOT, 'workflows', 'index.ts'),
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: (m) => process.stderr.write(`${m}\n`) },
  });
  return { workflowBundle: { code } };
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const code = await workflowCode(arg('--bundle'));
  let result: { replayed: number; failures: ReplayFailure[] };
  let what: string;
  if (process.argv.includes('--from-server')) {
    const address = process.env.TEMPORAL_ADDRESS ?? 'localhost:7233';
    const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
    const query = arg('--query') ?? 'ExecutionStatus="Running"';
    const converter = dataConverterFrom({
      TEMPORAL_PAYLOAD_KEY: process.env.TEMPORAL_PAYLOAD_KEY || undefined,
      TEMPORAL_PAYLOAD_OLD_KEYS: (process.env.TEMPORAL_PAYLOAD_OLD_KEYS ?? '').split(',').map((k) => k.trim()).filter(Boolean),
    });
    const connection = await Connection.connect({ address });
    try {
      const client = new Client({ connection, namespace, ...converter });
      result = await replayHistories(client.workflow.list({ query }).intoHistories(), code, converter);
      what = `open workflows on ${address} (${namespace}, ${query})`;
    } finally {
      await connection.close();
    }
  } else {
    result = await replayHistories(await fixtureHistories(), code, dataConverterFrom({ TEMPORAL_PAYLOAD_KEY: FIXTURE_PAYLOAD_KEY }));
    what = `committed fixtures in ${path.relative(ROOT, FIXTURES_DIR)}`;
  }
  for (const f of result.failures) process.stderr.write(`does not replay: ${f.workflowId}: ${f.error}\n`);
  process.stdout.write(`replayed ${result.replayed} histories (${what}): ${result.failures.length} failed\n`);
  if (result.failures.length > 0) process.exit(1);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`replay failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
