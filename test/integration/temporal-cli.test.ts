import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { findTemporalCli, startDevServer, type DevServerHandle } from '../../scripts/temporal-cli';
import { echoWorkflow } from '../helpers/workflows/sleepy.workflow';

function portOpen(address: string): Promise<boolean> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(2_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return check();
}

describe('findTemporalCli', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'temporal-cli-find-'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('prefers TEMPORAL_CLI when it is an executable file', async () => {
    const fake = path.join(dir, 'my-temporal');
    await fs.writeFile(fake, '#!/bin/sh\n', { mode: 0o755 });
    await expect(findTemporalCli({ ...process.env, TEMPORAL_CLI: fake })).resolves.toBe(fake);
  });

  it('ignores TEMPORAL_CLI when it is not executable', async () => {
    const notExecutable = path.join(dir, 'not-executable');
    await fs.writeFile(notExecutable, 'x', { mode: 0o644 });
    const found = await findTemporalCli({ ...process.env, TEMPORAL_CLI: notExecutable });
    expect(found).not.toBe(notExecutable);
  });
});

describe('startDevServer (Temporal CLI dev server)', () => {
  const namespace = `outreach-test-${randomUUID().slice(0, 8)}`;
  const searchAttributes = { OutreachClientId: 'Keyword', OutreachSentCount: 'Int' } as const;
  const workflowId = `echo-${randomUUID()}`;
  let dir: string;
  let dbFile: string;
  let server: DevServerHandle | undefined;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'temporal-dev-'));
    dbFile = path.join(dir, 'temporal.sqlite');
  });

  afterAll(async () => {
    await server?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('serves the namespace, search attributes, Web UI and runs a workflow', async () => {
    server = await startDevServer({ dbFile, namespace, searchAttributes });
    expect(server.pid).toEqual(expect.any(Number));
    expect(server.uiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const connection = await Connection.connect({ address: server.address });
    try {
      const ns = await connection.workflowService.describeNamespace({ namespace });
      expect(ns.namespaceInfo?.name).toBe(namespace);
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
      expect(Object.keys(customAttributes ?? {})).toEqual(expect.arrayContaining(Object.keys(searchAttributes)));

      const ui = await fetch(server.uiUrl!);
      expect(ui.status).toBe(200);
      await ui.arrayBuffer();

      const taskQueue = `dev-server-${randomUUID()}`;
      const nativeConnection = await NativeConnection.connect({ address: server.address });
      try {
        const worker = await Worker.create({
          connection: nativeConnection,
          namespace,
          taskQueue,
          workflowsPath: require.resolve('../helpers/workflows/sleepy.workflow'),
        });
        const client = new Client({ connection, namespace });
        const result = await worker.runUntil(
          client.workflow.execute(echoWorkflow, { args: ['hello'], taskQueue, workflowId }),
        );
        expect(result).toBe('echo: hello');
      } finally {
        await nativeConnection.close();
      }
    } finally {
      await connection.close();
    }
  });

  it('stop() leaves no process and no open ports, and is idempotent', async () => {
    const running = server!;
    const uiAddress = running.uiUrl!.replace('http://', '');
    expect(processAlive(running.pid!)).toBe(true);
    expect(await portOpen(running.address)).toBe(true);

    await running.stop();
    await running.stop();

    expect(() => process.kill(running.pid!, 0)).toThrow();
    expect(await portOpen(running.address)).toBe(false);
    expect(await portOpen(uiAddress)).toBe(false);
  });

  it('keeps completed workflows when restarted on the same SQLite file', async () => {
    server = await startDevServer({ dbFile, namespace, searchAttributes, headless: true });
    expect(server.uiUrl).toBeNull();
    const connection = await Connection.connect({ address: server.address });
    try {
      const client = new Client({ connection, namespace });
      const description = await client.workflow.getHandle(workflowId).describe();
      expect(description.status.name).toBe('COMPLETED');
      await expect(client.workflow.getHandle(workflowId).result()).resolves.toBe('echo: hello');
    } finally {
      await connection.close();
    }
  });
});

describe('startDevServer when its parent dies', () => {
  it('the server does not outlive a SIGKILLed parent', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'temporal-orphan-'));
    const script = path.join(dir, 'parent.ts');
    const modulePath = path.resolve(__dirname, '../../scripts/temporal-cli');
    await fs.writeFile(
      script,
      `import { startDevServer } from ${JSON.stringify(modulePath)};\n` +
        `void startDevServer({ headless: true }).then((s) => process.stdout.write(String(s.pid) + '\\n'));\n`,
    );
    const parent = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: path.resolve(__dirname, '../..'),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let serverPid: number | undefined;
    try {
      serverPid = await new Promise<number>((resolve, reject) => {
        let out = '';
        parent.stdout!.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('\n')) resolve(Number(out.trim()));
        });
        parent.once('exit', (code) => reject(new Error(`parent exited early (${code})`)));
      });
      const pid = serverPid;
      expect(processAlive(pid)).toBe(true);
      parent.kill('SIGKILL');
      expect(await waitFor(() => !processAlive(pid), 10_000)).toBe(true);
    } finally {
      parent.kill('SIGKILL');
      if (serverPid && processAlive(serverPid)) process.kill(serverPid, 'SIGKILL');
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
