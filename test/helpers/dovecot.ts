/**
 * A private Dovecot IMAP server for a test file (Debian's dovecot-imapd,
 * installed by scripts/setup-dovecot.sh): its own configuration, passwd-file
 * users and maildirs in a temporary directory, listening on 127.0.0.1 on a
 * free port, stopped (by its process id) and removed by `stop()`. Users are
 * added while it runs (Dovecot re-reads the passwd-file when it changes);
 * messages are put in a user's INBOX with IMAP APPEND.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ImapFlow } from 'imapflow';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function idOf(user: string, flag: '-u' | '-g'): number | null {
  const r = spawnSync('id', [flag, user], { encoding: 'utf8' });
  return r.status === 0 ? Number(r.stdout.trim()) : null;
}

async function listening(port: number, timeoutMs: number, proc: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null) {
      const log = await readFile(logFile, 'utf8').catch(() => '');
      throw new Error(`dovecot exited with ${proc.exitCode}: ${log.slice(-2000)}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ port, host: '127.0.0.1' }, () => {
        s.end();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`dovecot did not listen on ${port} in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export class Dovecot {
  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly proc: ChildProcess,
    private readonly usersFile: string,
  ) {}

  readonly host = '127.0.0.1';

  static async start(): Promise<Dovecot> {
    const binary = spawnSync('dovecot', ['--version'], { encoding: 'utf8' });
    if (binary.status !== 0) throw new Error('dovecot is not installed: run `sudo bash scripts/setup-dovecot.sh` (.ci/run does)');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'outreach-dovecot-'));
    await chmod(dir, 0o755);
    const root = process.getuid?.() === 0;
    const me = os.userInfo().username;
    // As root, mail is kept by an unprivileged user (Dovecot refuses uid 0 for mail); otherwise by whoever runs the tests.
    const mailUser = root ? 'dovecot' : me;
    const uid = root ? idOf('dovecot', '-u') : process.getuid!();
    const gid = root ? idOf('dovecot', '-g') : process.getgid!();
    if (uid === null || gid === null) throw new Error('no dovecot system user: run scripts/setup-dovecot.sh');
    const loginUser = root ? 'dovenull' : me;
    for (const sub of ['mail', 'home']) {
      await mkdir(path.join(dir, sub), { mode: 0o755 });
      if (root) await chown(path.join(dir, sub), uid, gid);
    }
    const usersFile = path.join(dir, 'users');
    await writeFile(usersFile, '', { mode: 0o644 });
    const port = await freePort();
    const logFile = path.join(dir, 'dovecot.log');
    const conf = `
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${logFile}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mailbox_idle_check_interval = 1 secs
mail_location = maildir:${dir}/mail/%u
first_valid_uid = ${uid}
first_valid_gid = ${gid}
mail_max_userip_connections = 100
default_login_user = ${loginUser}
default_internal_user = ${mailUser}
namespace inbox {
  inbox = yes
  separator = /
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${usersFile}
}
userdb {
  driver = passwd-file
  args = username_format=%u ${usersFile}
  default_fields = uid=${uid} gid=${gid} home=${dir}/home/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
service stats {
  unix_listener stats-reader {
    mode = 0666
  }
  unix_listener stats-writer {
    mode = 0666
  }
}
`;
    const confFile = path.join(dir, 'dovecot.conf');
    await writeFile(confFile, conf);
    const proc = spawn('dovecot', ['-F', '-c', confFile], { stdio: 'ignore' });
    const d = new Dovecot(port, dir, proc, usersFile);
    try {
      await listening(port, 15_000, proc, logFile);
    } catch (err) {
      await d.stop();
      throw err;
    }
    return d;
  }

  /** A new user with a random password (a name of letters, digits and dashes). */
  async addUser(name = `u-${randomBytes(4).toString('hex')}`): Promise<{ user: string; password: string }> {
    const password = randomBytes(12).toString('hex');
    await appendFile(this.usersFile, `${name}:{PLAIN}${password}::::::\n`);
    return { user: name, password };
  }

  /** Puts a raw message in the user's INBOX (IMAP APPEND), as a delivery would. */
  async append(account: { user: string; password: string }, raw: string | Buffer): Promise<void> {
    const client = new ImapFlow({ host: this.host, port: this.port, secure: false, auth: { user: account.user, pass: account.password }, logger: false });
    await client.connect();
    try {
      await client.append('INBOX', typeof raw === 'string' ? Buffer.from(raw.replace(/\r?\n/g, '\r\n')) : raw);
    } finally {
      await client.logout().catch(() => client.close());
    }
  }

  /** Stops the server (its own process, by id), keeping its files: an outage. */
  async kill(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null && this.proc.pid) {
      const exited = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    }
  }

  async stop(): Promise<void> {
    await this.kill();
    await rm(this.dir, { recursive: true, force: true });
  }
}
