/**
 * `npm run build`: the production build in dist/.
 *
 * - tsc emits the JavaScript of api/, worker/, activities/, services/, core/,
 *   db/ and workflows/ (tsconfig.build.json), with source maps;
 * - db/migrations/*.sql are copied beside the compiled migrator;
 * - the workflow code is bundled once (bundleWorkflowCode, the same failure
 *   converter the worker uses) into dist/workflow-bundle.js, which the
 *   compiled worker loads instead of bundling from source at every start.
 *
 * Then `node dist/api/server.js` and `node dist/worker/main.js` run it.
 */
import { bundleWorkflowCode } from '@temporalio/worker';
import { spawnSync } from 'node:child_process';
import { cp, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FAILURE_CONVERTER_PATH } from '../core/codec';

const ROOT = path.join(__dirname, '..');
const DIST = path.join(ROOT, 'dist');

async function main(): Promise<void> {
  const started = Date.now();
  await rm(DIST, { recursive: true, force: true });
  const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (tsc.status !== 0) throw new Error(`tsc failed (exit ${tsc.status ?? tsc.signal})`);
  await mkdir(path.join(DIST, 'db'), { recursive: true });
  await cp(path.join(ROOT, 'db', 'migrations'), path.join(DIST, 'db', 'migrations'), { recursive: true });
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(ROOT, 'workflows', 'index.ts'),
    failureConverterPath: FAILURE_CONVERTER_PATH,
  });
  await writeFile(path.join(DIST, 'workflow-bundle.js'), code);
  process.stdout.write(`built dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s (workflow bundle ${(code.length / 1024).toFixed(0)} KiB)\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`build failed: ${(err as Error).message}\n`);
  process.exit(1);
});
