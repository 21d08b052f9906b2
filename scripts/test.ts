/**
 * npm test's jest step: the suite in two lanes at once, each a jest process
 * with its own Temporal dev server and database (test/helpers/global-setup),
 * its files one after another (--runInBand).
 *
 * - scale: the 100,000-lead acceptance test, which alone takes about as long
 *   as every other file together and spends most of it in the worker and the
 *   server, not in jest;
 * - suite: every other file.
 *
 * On 2 cores the two lanes overlap the scale test's long run with the rest
 * instead of adding them up. Each lane's lines are prefixed with its name;
 * the exit code is non-zero when either lane fails. Extra arguments go to
 * both jest runs (e.g. `npm test -- --silent`).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

const SCALE = ['test/e2e/campaign-100k.test.ts'];
const jest = path.join(__dirname, '..', 'node_modules', 'jest', 'bin', 'jest.js');
const extra = process.argv.slice(2);

function lane(name: string, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [jest, '--runInBand', ...args, ...extra], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    const prefix = (stream: NodeJS.WritableStream) => {
      let rest = '';
      return (chunk: Buffer) => {
        const lines = (rest + chunk.toString()).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) stream.write(`[${name}] ${line}\n`);
      };
    };
    child.stdout.on('data', prefix(process.stdout));
    child.stderr.on('data', prefix(process.stderr));
    child.on('close', (code, signal) => {
      process.stdout.write(`[${name}] finished in ${Math.round((Date.now() - started) / 1000)} s: ${signal ?? `exit ${code}`}\n`);
      resolve(code ?? 1);
    });
  });
}

async function main(): Promise<void> {
  const codes = await Promise.all([
    lane('scale', ['--runTestsByPath', ...SCALE]),
    lane('suite', ['--testPathIgnorePatterns', ...SCALE.map((f) => f.replace(/[.]/g, '\\.'))]),
  ]);
  process.exit(codes.some((c) => c !== 0) ? 1 : 0);
}

void main();
