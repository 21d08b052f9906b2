import { TestWorkflowEnvironment } from '@temporalio/testing';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { dataConverterFrom } from '../../core/codec';
import { ensureTestServerExecutable } from '../../scripts/test-server';

/**
 * The data converter of a time-skipping test file: a random payload key, so
 * payloads and failures are sealed as in production. The environment's
 * client carries it; pass it to every Worker.create on the environment too
 * (`...timeSkippingDataConverter`), or neither side can read the other.
 */
export const timeSkippingDataConverter = dataConverterFrom({ TEMPORAL_PAYLOAD_KEY: randomBytes(32).toString('base64') });

/** How long the test server's JVM may take to listen: a loaded 2-core machine took more than the SDK's fixed 5 s. */
const SERVER_START_MAX_MS = 120_000;

/**
 * A time-skipping test environment on the Java test server from Maven
 * (see scripts/test-server.ts), so no download from the internet is needed.
 * The caller owns it: `await env.teardown()` in afterAll, which also stops
 * the server.
 *
 * The server is started here rather than by the SDK's ephemeral-server
 * support, which gives it 5 s to listen: on a loaded machine the JVM took
 * longer and every test of the file failed ("did not start within 5s"). The
 * environment is then the SDK's own, with time skipping on, connected to it
 * (`TestWorkflowEnvironment.create`, which createTimeSkipping calls with an
 * ephemeral server; the SDK version is pinned by the lock file).
 */
export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const executable = await ensureTestServerExecutable();
  const port = await freePort();
  const server = spawn(executable, [String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  server.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-4000); });
  try {
    await listening(port, server, () => stderr);
    const create = (TestWorkflowEnvironment as unknown as {
      create(opts: Record<string, unknown>): Promise<TestWorkflowEnvironment>;
    }).create.bind(TestWorkflowEnvironment);
    const env = await create({
      server: { type: 'existing' },
      address: `127.0.0.1:${port}`,
      namespace: 'default',
      supportsTimeSkipping: true,
      client: { ...timeSkippingDataConverter },
    });
    const teardown = env.teardown.bind(env);
    env.teardown = async () => {
      try {
        await teardown();
      } finally {
        await stop(server);
      }
    };
    return env;
  } catch (err) {
    await stop(server);
    throw err;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function listening(port: number, server: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + SERVER_START_MAX_MS;
  for (;;) {
    if (server.exitCode !== null || server.signalCode !== null) {
      throw new Error(`the time-skipping test server exited (${server.exitCode ?? server.signalCode}) before listening: ${stderr()}`);
    }
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => { socket.destroy(); resolve(false); });
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`the time-skipping test server did not listen on ${port} within ${SERVER_START_MAX_MS / 1000} s: ${stderr()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stop(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  server.kill('SIGTERM');
  const timer = setTimeout(() => server.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
