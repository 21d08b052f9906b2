/**
 * The Temporal CLI (dev server + Web UI) for development and integration tests.
 *
 * - `findTemporalCli()` looks for an installed binary.
 * - `ensureTemporalCli()` also builds one with `go install` into a cache dir
 *   outside the repo (`$XDG_CACHE_HOME|~/.cache` + `/outreach-engine/bin`).
 * - `startDevServer()` runs `temporal server start-dev` on free ports and
 *   waits until the namespace and search attributes are usable; without a
 *   CLI it falls back to `TestWorkflowEnvironment.createLocal` (which
 *   downloads a dev server, so it needs internet).
 *
 * CLI: `npx tsx scripts/temporal-cli.ts ensure` prints the binary's path.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { cacheRoot } from './test-server';

const execFileAsync = promisify(execFile);

export const TEMPORAL_CLI_VERSION = 'v1.5.1';
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';

export type SearchAttributeTypeName = 'Keyword' | 'Text' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';

const SDK_TYPES: Record<SearchAttributeTypeName, SearchAttributeType> = {
  Keyword: SearchAttributeType.KEYWORD,
  Text: SearchAttributeType.TEXT,
  Int: SearchAttributeType.INT,
  Double: SearchAttributeType.DOUBLE,
  Bool: SearchAttributeType.BOOL,
  Datetime: SearchAttributeType.DATETIME,
  KeywordList: SearchAttributeType.KEYWORD_LIST,
};

/**
 * Dynamic config passed to every dev server. All of these are already the
 * defaults of the server inside CLI v1.5.1 (server 1.29); they are pinned
 * because the engine depends on them (search attributes visible right after
 * registration; Updates and update-with-start).
 */
const DEFAULT_DYNAMIC_CONFIG: Record<string, unknown> = {
  'system.forceSearchAttributesCacheRefreshOnRead': true,
  'frontend.enableUpdateWorkflowExecution': true,
  'frontend.enableUpdateWorkflowExecutionAsyncAccepted': true,
  'frontend.enableExecuteMultiOperation': true,
};

const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;

/** Where `ensureTemporalCli` installs the binary (GOBIN for `go install`). */
export function temporalCliCacheBinDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(cacheRoot(env), 'bin');
}

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    await fs.access(file, fsConstants.X_OK);
    return (await fs.stat(file)).isFile();
  } catch {
    return false;
  }
}

async function onPath(cmd: string, env: NodeJS.ProcessEnv): Promise<string | null> {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir && (await isExecutableFile(path.join(dir, cmd)))) return path.join(dir, cmd);
  }
  return null;
}

async function findGo(env: NodeJS.ProcessEnv): Promise<string | null> {
  const found = await onPath('go', env);
  if (found) return found;
  const goroot = env.GOROOT ? path.join(env.GOROOT, 'bin', 'go') : null;
  for (const candidate of [goroot, '/usr/local/go/bin/go']) {
    if (candidate && (await isExecutableFile(candidate))) return candidate;
  }
  return null;
}

async function goPathBins(env: NodeJS.ProcessEnv): Promise<string[]> {
  const dirs: string[] = [];
  const go = await findGo(env);
  if (go) {
    try {
      const { stdout } = await execFileAsync(go, ['env', 'GOBIN', 'GOPATH'], { env, timeout: 10_000 });
      const [gobin = '', gopath = ''] = stdout.split('\n').map((l) => l.trim());
      if (gobin) dirs.push(gobin);
      for (const p of gopath.split(path.delimiter)) if (p) dirs.push(path.join(p, 'bin'));
    } catch {
      // go is broken; fall through to the conventional location
    }
  }
  dirs.push(path.join(env.HOME ?? os.homedir(), 'go', 'bin'));
  return dirs;
}

/**
 * TEMPORAL_CLI (if it names an executable file) -> `temporal` on PATH ->
 * `$(go env GOBIN)`, `$(go env GOPATH)/bin`, `~/go/bin` -> the build cache.
 */
export async function findTemporalCli(env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  if (env.TEMPORAL_CLI && (await isExecutableFile(env.TEMPORAL_CLI))) return path.resolve(env.TEMPORAL_CLI);
  const fromPath = await onPath('temporal', env);
  if (fromPath) return fromPath;
  const candidates = [...(await goPathBins(env)), temporalCliCacheBinDir(env)].map((d) => path.join(d, 'temporal'));
  for (const candidate of candidates) {
    if (await isExecutableFile(candidate)) return candidate;
  }
  return null;
}

function streamLines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  let partial = '';
  stream?.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) onLine(line);
  });
  stream?.on('end', () => {
    if (partial.trim()) onLine(partial);
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A lock directory, so two processes never run the same `go install` at once. */
async function withBuildLock<T>(lockDir: string, log: (m: string) => void, fn: () => Promise<T>): Promise<T> {
  const staleAfterMs = 30 * 60_000;
  for (let announced = false; ; ) {
    try {
      await fs.mkdir(lockDir);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = Date.now() - (await fs.stat(lockDir).then((s) => s.mtimeMs, () => Date.now()));
      if (age > staleAfterMs) {
        await fs.rm(lockDir, { recursive: true, force: true });
        continue;
      }
      if (!announced) log(`waiting for another build of the Temporal CLI (lock ${lockDir})`);
      announced = true;
      await sleep(2_000);
    }
  }
  try {
    return await fn();
  } finally {
    await fs.rm(lockDir, { recursive: true, force: true });
  }
}

/**
 * Finds the Temporal CLI, or builds it with `go install ...@v1.5.1` into the
 * cache dir (minutes, cold). Returns null when there is neither a CLI nor Go.
 */
export async function ensureTemporalCli(opts: { log?: (m: string) => void; env?: NodeJS.ProcessEnv } = {}): Promise<string | null> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? (() => undefined);
  if (env.TEMPORAL_CLI && !(await isExecutableFile(env.TEMPORAL_CLI))) {
    log(`TEMPORAL_CLI=${env.TEMPORAL_CLI} is not an executable file; ignoring it`);
  }
  const found = await findTemporalCli(env);
  if (found) return found;

  const go = await findGo(env);
  if (!go) {
    log('Temporal CLI not found and Go is not available to build it');
    return null;
  }
  const binDir = temporalCliCacheBinDir(env);
  const target = path.join(binDir, 'temporal');
  await fs.mkdir(binDir, { recursive: true });
  return withBuildLock(path.join(binDir, '.temporal-build.lock'), log, async () => {
    if (await isExecutableFile(target)) return target; // built while we waited
    const started = Date.now();
    log(`building Temporal CLI ${TEMPORAL_CLI_VERSION} with ${go} install into ${binDir} (takes minutes)`);
    await new Promise<void>((resolve, reject) => {
      const child = spawn(go, ['install', `${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`], {
        env: { ...env, GOBIN: binDir },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let tail = '';
      const onLine = (line: string) => {
        tail = `${tail}${line}\n`.slice(-4000);
        log(line);
      };
      streamLines(child.stdout, onLine);
      streamLines(child.stderr, onLine);
      child.on('error', reject);
      child.on('close', (code, signal) =>
        code === 0 ? resolve() : reject(new Error(`go install failed (${signal ?? `exit ${code}`}):\n${tail}`)),
      );
    });
    if (!(await isExecutableFile(target))) throw new Error(`go install succeeded but ${target} is missing`);
    log(`built ${target} in ${Math.round((Date.now() - started) / 1000)}s`);
    return target;
  });
}

export interface DevServerOptions {
  /** gRPC frontend port; a free one when omitted. */
  port?: number;
  /** Web UI port; a free one when omitted (ignored when headless). */
  uiPort?: number;
  headless?: boolean;
  /** The Web UI's remote codec endpoint (the API's /codec), so it can decode encrypted payloads. */
  uiCodecEndpoint?: string;
  /** Persistent SQLite file; omit for an in-memory server. */
  dbFile?: string;
  /** Created at start (if missing). Default "default". */
  namespace?: string;
  /** Default 127.0.0.1. */
  ip?: string;
  searchAttributes?: Record<string, SearchAttributeTypeName>;
  /** Server log level: debug, info, warn (default), error, never. */
  logLevel?: string;
  /** Extra dynamic config on top of the pinned defaults. */
  dynamicConfig?: Record<string, unknown>;
  log?: (m: string) => void;
}

export interface DevServerHandle {
  /** host:port of the gRPC frontend. */
  address: string;
  uiUrl: string | null;
  namespace: string;
  /** The server process (undefined for the SDK fallback, which runs it from native code). */
  pid: number | undefined;
  /** SIGTERM, wait for exit, SIGKILL after ~5s. Idempotent. */
  stop(): Promise<void>;
}

/** A port that was free a moment ago (bind port 0, read it, close). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not get a free port'))));
    });
  });
}

/** `setpriv --pdeathsig` makes the server die when this process dies, even on SIGKILL. */
let setprivPath: Promise<string | null> | undefined;
function findSetpriv(): Promise<string | null> {
  setprivPath ??= (async () => {
    const candidate = (await onPath('setpriv', process.env)) ?? null;
    if (!candidate) return null;
    try {
      await execFileAsync(candidate, ['--pdeathsig', 'TERM', '--', 'true'], { timeout: 5_000 });
      return candidate;
    } catch {
      return null;
    }
  })();
  return setprivPath;
}

function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, ms);
    const onExit = () => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (exited(child)) return;
  child.kill('SIGTERM');
  if (await waitForExit(child, STOP_GRACE_MS)) return;
  child.kill('SIGKILL');
  await waitForExit(child, STOP_GRACE_MS);
}

/**
 * Waits until the namespace is described and every requested search attribute
 * is registered (and the Web UI answers, when enabled).
 */
async function waitUntilReady(params: {
  address: string;
  namespace: string;
  searchAttributes: Record<string, SearchAttributeTypeName>;
  uiUrl: string | null;
  deadline: number;
  failed: () => Error | null;
}): Promise<void> {
  const { address, namespace, searchAttributes, uiUrl, deadline, failed } = params;
  let lastError = 'not tried yet';
  let connection: Connection | undefined;
  try {
    while (Date.now() < deadline) {
      const failure = failed();
      if (failure) throw failure;
      try {
        connection ??= await Connection.connect({ address, connectTimeout: 2_000 });
        await connection.workflowService.describeNamespace({ namespace });
        const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
        const missing = Object.keys(searchAttributes).filter((name) => !(name in (customAttributes ?? {})));
        if (missing.length) throw new Error(`search attributes not registered yet: ${missing.join(', ')}`);
        if (uiUrl) {
          const res = await fetch(uiUrl, { signal: AbortSignal.timeout(2_000) });
          if (!res.ok) throw new Error(`Web UI answered ${res.status}`);
          await res.arrayBuffer();
        }
        return;
      } catch (err) {
        lastError = err instanceof Error ? err.message : String(err);
      }
      await sleep(200);
    }
    throw new Error(`not ready: ${lastError}`);
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

async function startWithSdkFallback(opts: DevServerOptions, log: (m: string) => void): Promise<DevServerHandle> {
  log('Temporal CLI unavailable: falling back to TestWorkflowEnvironment.createLocal (downloads a dev server; needs internet)');
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const namespace = opts.namespace ?? 'default';
  const ip = opts.ip ?? '127.0.0.1';
  const uiPort = opts.headless ? undefined : (opts.uiPort ?? (await freePort(ip)));
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      ip,
      port: opts.port,
      namespace,
      dbFilename: opts.dbFile,
      ui: !opts.headless,
      uiPort,
      log: { format: 'pretty', level: opts.logLevel ?? 'warn' },
      searchAttributes: Object.entries(opts.searchAttributes ?? {}).map(([name, type]) =>
        defineSearchAttributeKey(name, SDK_TYPES[type]),
      ),
      extraArgs: dynamicConfigArgs(opts.dynamicConfig),
    },
  });
  let stopping: Promise<void> | undefined;
  return {
    address: env.address,
    uiUrl: uiPort ? `http://${formatHostPort(ip, uiPort)}` : null,
    namespace,
    pid: undefined,
    stop: () => (stopping ??= env.teardown()),
  };
}

function dynamicConfigArgs(extra: Record<string, unknown> = {}): string[] {
  return Object.entries({ ...DEFAULT_DYNAMIC_CONFIG, ...extra }).flatMap(([key, value]) => [
    '--dynamic-config-value',
    `${key}=${JSON.stringify(value)}`,
  ]);
}

/** Runs `temporal server start-dev` and resolves once it is usable. */
export async function startDevServer(opts: DevServerOptions = {}): Promise<DevServerHandle> {
  const log = opts.log ?? (() => undefined);
  const exe = await ensureTemporalCli({ log });
  if (!exe) return startWithSdkFallback(opts, log);

  const ip = opts.ip ?? '127.0.0.1';
  const namespace = opts.namespace ?? 'default';
  const searchAttributes = opts.searchAttributes ?? {};
  const port = opts.port ?? (await freePort(ip));
  let uiPort: number | null = null;
  if (!opts.headless) {
    uiPort = opts.uiPort ?? (await freePort(ip));
    while (uiPort === port) uiPort = await freePort(ip);
  }

  const args = ['server', 'start-dev', '--ip', ip, '--port', String(port)];
  args.push(...(uiPort === null ? ['--headless'] : ['--ui-port', String(uiPort)]));
  if (uiPort !== null && opts.uiCodecEndpoint) args.push('--ui-codec-endpoint', opts.uiCodecEndpoint);
  if (opts.dbFile) args.push('--db-filename', opts.dbFile);
  if (namespace !== 'default') args.push('--namespace', namespace);
  for (const [name, type] of Object.entries(searchAttributes)) {
    if (!(type in SDK_TYPES)) throw new Error(`unknown search attribute type ${type} for ${name}`);
    args.push('--search-attribute', `${name}=${type}`);
  }
  args.push('--log-level', opts.logLevel ?? 'warn', '--color', 'never');
  args.push(...dynamicConfigArgs(opts.dynamicConfig));

  const setpriv = await findSetpriv();
  const [cmd, cmdArgs] = setpriv ? [setpriv, ['--pdeathsig', 'TERM', '--', exe, ...args]] : [exe, args];
  log(`starting ${exe} ${args.join(' ')}`);
  // setpriv execs the server, so child.pid is the server itself.
  const child = spawn(cmd, cmdArgs, { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
  let outputTail = '';
  const onLine = (line: string) => {
    outputTail = `${outputTail}${line}\n`.slice(-8000);
    log(`[temporal] ${line}`);
  };
  streamLines(child.stdout, onLine);
  streamLines(child.stderr, onLine);
  let spawnError: Error | null = null;
  child.on('error', (err) => (spawnError = err));
  // Covers normal exits of this process; setpriv covers being killed.
  const killOnExit = () => {
    if (!exited(child)) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= stopChild(child).finally(() => {
      process.off('exit', killOnExit);
    }));

  const address = formatHostPort(ip, port);
  const uiUrl = uiPort === null ? null : `http://${formatHostPort(ip, uiPort)}`;
  try {
    await waitUntilReady({
      address,
      namespace,
      searchAttributes,
      uiUrl,
      deadline: Date.now() + READY_TIMEOUT_MS,
      failed: () => {
        if (spawnError) return new Error(`could not run ${cmd}: ${spawnError.message}`);
        if (exited(child)) return new Error(`exited with ${child.signalCode ?? `code ${child.exitCode}`}`);
        return null;
      },
    });
  } catch (err) {
    await stop();
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(
      `Temporal dev server (${exe} ${args.join(' ')}) did not become ready within ${READY_TIMEOUT_MS / 1000}s: ${reason}\n` +
        `--- server output (tail) ---\n${outputTail || '(none)'}`,
      { cause: err },
    );
  }
  log(`Temporal dev server ready at ${address}${uiUrl ? `, UI ${uiUrl}` : ''} (pid ${child.pid})`);
  return { address, uiUrl, namespace, pid: child.pid, stop };
}

async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  if (command !== 'ensure') {
    process.stderr.write('usage: tsx scripts/temporal-cli.ts ensure   # prints the Temporal CLI path, building it if needed\n');
    return 2;
  }
  const exe = await ensureTemporalCli({ log: (m) => process.stderr.write(`${m}\n`) });
  if (!exe) {
    process.stderr.write('Temporal CLI not found and Go is not available to build it\n');
    return 1;
  }
  process.stdout.write(`${exe}\n`);
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
