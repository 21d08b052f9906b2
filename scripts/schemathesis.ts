/**
 * schemathesis (PyPI), the OpenAPI conformance fuzzer the security suite runs
 * against the API (test/security/openapi-conformance.test.ts).
 *
 * `ensureSchemathesis()` installs the pinned version, and every package it
 * pulls in at the versions in scripts/schemathesis-requirements.txt (a
 * `pip freeze`: a new hypothesis generates other requests, so an unpinned
 * install made the run differ from machine to machine), into a Python
 * virtual environment in the cache directory outside the repository
 * (`~/.cache/outreach-engine/schemathesis/<version>-<hash of the pins>`),
 * once; later calls return at once. SCHEMATHESIS_VERSION installs that
 * version with whatever it depends on instead. `schemathesisCommand()` is what the test runs: that
 * install, else SCHEMATHESIS_BIN, else an error saying how to install it.
 *
 * CLI: `npx tsx scripts/schemathesis.ts ensure` prints the executable's path.
 */
import { execFile } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { cacheRoot } from './test-server';

const run = promisify(execFile);

/** Every package of the pinned install, schemathesis included, at its exact version. */
export const REQUIREMENTS = path.join(__dirname, 'schemathesis-requirements.txt');
/** The pinned version: the requirements file's own line, so the two can never disagree. */
export const SCHEMATHESIS_VERSION = /^schemathesis==(\S+)$/m.exec(readFileSync(REQUIREMENTS, 'utf8'))?.[1] ?? 'missing from scripts/schemathesis-requirements.txt';

function installDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SCHEMATHESIS_VERSION) return path.join(cacheRoot(env), 'schemathesis', env.SCHEMATHESIS_VERSION);
  const pins = createHash('sha256').update(readFileSync(REQUIREMENTS)).digest('hex').slice(0, 12);
  return path.join(cacheRoot(env), 'schemathesis', `${SCHEMATHESIS_VERSION}-${pins}`);
}

async function executable(file: string): Promise<boolean> {
  try {
    await fs.access(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Installs schemathesis into its own virtual environment (once) and returns the `schemathesis` executable. */
export async function ensureSchemathesis(log: (m: string) => void = () => undefined, env = process.env): Promise<string> {
  const dir = installDir(env);
  const bin = path.join(dir, 'bin', 'schemathesis');
  if (await executable(bin)) return bin;
  const version = env.SCHEMATHESIS_VERSION ?? SCHEMATHESIS_VERSION;
  await fs.mkdir(path.dirname(dir), { recursive: true });
  try {
    const python = env.PYTHON ?? 'python3';
    log(`creating a virtual environment with ${python} in ${dir}`);
    // A venv's scripts record its own path, so it is built where it lives; the executable appears only once pip is done.
    await fs.rm(dir, { recursive: true, force: true });
    await run(python, ['-m', 'venv', dir]);
    log(`installing schemathesis ${version} from PyPI`);
    const what = env.SCHEMATHESIS_VERSION ? [`schemathesis==${version}`] : ['--no-deps', '-r', REQUIREMENTS];
    await run(path.join(dir, 'bin', 'python'), ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...what], {
      maxBuffer: 16 * 1024 * 1024,
    });
    if (!(await executable(bin))) throw new Error(`pip finished but ${bin} is missing`);
  } catch (err) {
    await fs.rm(dir, { recursive: true, force: true });
    throw new Error(`cannot install schemathesis ${version}: ${(err as Error).message}`, { cause: err });
  }
  return bin;
}

/**
 * Python 3.11 builds an AST with a depth limit taken from what is left of the
 * interpreter's recursion limit; Hypothesis parses a lambda's source deep in
 * a recursive strategy, the build runs out and fails with "AST constructor
 * recursion depth mismatch" (CPython gh-106905), a Runtime Error of the tool
 * (seen in a full run on a loaded machine). The same CLI, with room to recurse.
 */
const LAUNCHER = 'import sys; sys.setrecursionlimit(20000); from schemathesis.cli import schemathesis; sys.argv[0] = "schemathesis"; sys.exit(schemathesis())';

/** The command that runs schemathesis here, or an error that says how to get it. */
export async function schemathesisCommand(env = process.env): Promise<string[]> {
  const dir = installDir(env);
  const bin = path.join(dir, 'bin', 'schemathesis');
  if (await executable(bin)) return [path.join(dir, 'bin', 'python'), '-c', LAUNCHER];
  if (env.SCHEMATHESIS_BIN && (await executable(env.SCHEMATHESIS_BIN))) return [env.SCHEMATHESIS_BIN];
  throw new Error(`schemathesis is not installed: run \`npx tsx scripts/schemathesis.ts ensure\` (installs ${SCHEMATHESIS_VERSION} from PyPI into ${installDir(env)})`);
}

if (require.main === module) {
  const [cmd] = process.argv.slice(2);
  if (cmd !== 'ensure') {
    process.stderr.write('usage: tsx scripts/schemathesis.ts ensure\n');
    process.exit(2);
  }
  ensureSchemathesis((m) => process.stderr.write(`[schemathesis] ${m}\n`)).then(
    (bin) => process.stdout.write(`${bin}\n`),
    (err: Error) => {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    },
  );
}
