/**
 * npm test's jest step: the suite in two lanes at once, each a jest process
 * with its own Temporal dev server and database (test/helpers/global-setup),
 * its files one after another (--runInBand).
 *
 * - long: the 100,000-lead acceptance test (about 900 s beside the other
 *   lane, most of it in the worker and the server, not in jest) and the
 *   simulated two-week campaign (220 s quiet, about 400 s beside it);
 * - suite: every other file (about 1,100 s).
 *
 * On 2 cores the two lanes overlap the long tests with the rest instead of
 * adding them up; with the simulation in the suite lane that lane alone took
 * about 1,650 to 1,900 s. Each lane's lines are prefixed with its name;
 * the exit code is non-zero when either lane fails. Extra arguments go to
 * both jest runs (e.g. `npm test -- --silent`).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

const LONG = ['test/e2e/campaign-100k.test.ts', 'test/integration/campaign-simulation.test.ts'];
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
    lane('long', ['--runTestsByPath', ...LONG]),
    lane('suite', ['--testPathIgnorePatterns', ...LONG.map((f) => f.replace(/[.]/g, '\\.'))]),
  ]);
  process.exit(codes.some((c) => c !== 0) ? 1 : 0);
}

void main();
