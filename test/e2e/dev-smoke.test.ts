import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../scripts/temporal-cli';

const ROOT = path.join(__dirname, '../..');

/** Only variables that are set (spawn would turn undefined into the string "undefined"). */
function passThrough(...names: string[]): Record<string, string> {
  return Object.fromEntries(names.flatMap((n) => (process.env[n] ? [[n, process.env[n]!]] : [])));
}

async function processesMentioning(needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes(needle)) found.push(`${pid}: ${cmd.replace(/\0/g, ' ').slice(0, 160)}`);
  }
  return found;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

async function waitFor(fn: () => Promise<boolean>, ms: number, what: string, output: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const ok = await fn().catch((err: Error) => (err.message.includes('exited') ? 'exited' : false));
    if (ok === 'exited') break;
    if (ok) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} not reached in ${ms} ms; output:\n${output()}`);
}

describe('npm run dev', () => {
  it('boots Temporal (with Web UI), embedded PostgreSQL, worker and API, then stops cleanly on Ctrl-C', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'outreach-dev-'));
    await chmod(dir, 0o755); // as root, embedded PostgreSQL runs as the postgres user and must reach its folder
    const [apiPort, temporalPort, uiPort, pgPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const child = spawn('npm', ['run', 'dev'], {
      cwd: ROOT,
      detached: true, // its own process group, like a terminal's foreground job
      env: {
        ...passThrough('PATH', 'HOME', 'XDG_CACHE_HOME', 'TEMPORAL_CLI', 'GOPATH'),
        PORT: String(apiPort),
        TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
        TEMPORAL_UI_PORT: String(uiPort),
        TEMPORAL_DB_FILE: path.join(dir, 'temporal.sqlite'),
        EMBEDDED_PG_DIR: path.join(dir, 'pg'),
        EMBEDDED_PG_PORT: String(pgPort),
        DEV_DATA_DIR: path.join(dir, 'data'),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    let done = false;
    child.once('exit', () => (done = true));
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );

    try {
      await waitFor(async () => {
        if (done) throw new Error('npm run dev exited');
        return (await fetch(`http://127.0.0.1:${apiPort}/readyz`)).status === 200;
      }, 60_000, '/readyz 200', () => output);
      const ready = (await (await fetch(`http://127.0.0.1:${apiPort}/readyz`)).json()) as unknown;
      expect(ready).toEqual({ status: 'ready', checks: { postgres: 'ok', temporal: 'ok' } });
      const ui = await fetch(`http://127.0.0.1:${uiPort}/`);
      expect(ui.status).toBe(200);
      // The UI is pointed at the API's codec endpoint, so it can decode encrypted payloads.
      const settings = (await (await fetch(`http://127.0.0.1:${uiPort}/api/v1/settings`)).json()) as { Codec: { Endpoint: string } };
      expect(settings.Codec.Endpoint).toBe(`http://127.0.0.1:${apiPort}/codec`);
      expect(output).toContain(`Temporal UI  http://127.0.0.1:${uiPort}`);
      expect(output).toContain(`API          http://127.0.0.1:${apiPort}`);
      expect(await processesMentioning(dir)).not.toEqual([]);
    } finally {
      try {
        process.kill(-child.pid!, 'SIGINT'); // Ctrl-C reaches the whole foreground group
      } catch {
        // already gone: the assertions below and the output tell why
      }
    }
    await exited;
    await waitFor(async () => (await processesMentioning(dir)).length === 0, 20_000, 'no process left', () => output);
    expect(output).toContain('[dev] stopped');
    expect(output).not.toContain('shutdown failed');
    for (const port of [apiPort, temporalPort, uiPort, pgPort]) expect(await portOpen(port)).toBe(false);
  }, 180_000);
});
