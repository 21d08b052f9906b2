import type { AddressInfo, Server, Socket } from 'node:net';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import { FaultControl, type Decision } from './fault-control';
import { parseHeaders } from './smtp-sink';

export interface SmtpRecord {
  from: string;
  to: string[];
  raw: string;
  /** Header names lower-cased, folded lines joined. */
  headers: Record<string, string>;
  /** AUTH username, if the client logged in. */
  user?: string;
  queueId: string;
}

type SmtpError = Error & { responseCode: number };

function smtpError(code: number, message: string): SmtpError {
  return Object.assign(new Error(message), { responseCode: code });
}

/**
 * A real SMTP server (smtp-server) on 127.0.0.1 with the shared faults:
 * - throttle → 421 (or `status`, e.g. 451) to MAIL FROM
 * - fail(code) → that reply code to the end of DATA, after the body arrived
 *   (e.g. 451 temporary, 554 rejected)
 * - rejectRecipient → 550 to RCPT TO
 * - authFail → 535 to AUTH (the client must be configured with a user)
 * - dropAfterAccept → records the message, then destroys the socket instead of replying to DATA
 * - outage / recover as for the HTTP fakes.
 * `attempts` counts MAIL FROM commands; `accepted` counts bodies received and kept.
 */
export class SmtpFake extends FaultControl {
  readonly messages: SmtpRecord[] = [];
  readonly logins: { username: string; password: string }[] = [];
  private server?: SMTPServer;
  private readonly sockets = new Map<number, Socket>();
  /** The decision taken at MAIL FROM, carried to DATA. */
  private readonly pending = new Map<string, Decision>();

  protected get baseUrl(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  protected async bind(port: number): Promise<number> {
    const server = new SMTPServer({
      authOptional: true,
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      closeTimeout: 50,
      onAuth: (auth, _session, callback) => {
        this.logins.push({ username: auth.username ?? '', password: auth.password ?? '' });
        if (this.isAuthFailing()) return callback(smtpError(535, 'Authentication credentials invalid'));
        callback(null, { user: auth.username });
      },
      onMailFrom: (_address, session, callback) => {
        this.attempts += 1;
        const decision = this.decide([]);
        if (decision.kind === 'throttle') {
          const code = decision.fault.status && decision.fault.status < 500 ? decision.fault.status : 421;
          return callback(smtpError(code, 'Too many messages, slow down'));
        }
        if (decision.kind === 'auth') return callback(smtpError(530, 'Authentication required'));
        this.pending.set(session.id, decision);
        callback();
      },
      onRcptTo: (address, _session, callback) => {
        if (this.isRejected(address.address)) return callback(smtpError(550, `No such user: ${address.address}`));
        callback();
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => void this.onMessage(session, Buffer.concat(chunks).toString('utf8'), callback));
      },
    });
    // smtp-server re-emits every connection's socket error on the server; unheard, a second one would crash the process.
    server.on('error', () => undefined);
    const net = (server as unknown as { server: Server }).server;
    net.on('connection', (s: Socket) => {
      if (this.takeReset()) {
        s.resetAndDestroy();
        return;
      }
      const key = s.remotePort ?? 0;
      this.sockets.set(key, s);
      s.on('close', () => this.sockets.delete(key));
    });
    await new Promise<void>((resolve, reject) => {
      net.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    return (net.address() as AddressInfo).port;
  }

  /** Closes every open session (nodemailer's pool keeps them between sends). */
  protected override closeIdle(): void {
    for (const s of this.sockets.values()) s.destroy();
    this.sockets.clear();
  }

  /** SMTP sessions are not reused across sends here, so every mode closes at once. */
  protected async unbind(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets.values()) s.destroy();
    this.sockets.clear();
    await closed;
  }

  private async onMessage(session: SMTPServerSession, raw: string, callback: (err?: Error | null, message?: string) => void): Promise<void> {
    await this.delay();
    const decision = this.pending.get(session.id) ?? { kind: 'ok' };
    this.pending.delete(session.id);
    if (decision.kind === 'fail') return callback(smtpError(decision.status, `Message rejected (${decision.status})`));
    if (decision.kind === 'canned') return callback(smtpError(decision.response.status, String(decision.response.body ?? 'Canned reply')));
    const record: SmtpRecord = {
      from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
      to: session.envelope.rcptTo.map((r) => r.address),
      raw,
      headers: parseHeaders(raw),
      user: (session.user as string | undefined) ?? undefined,
      queueId: `fake${this.messages.length + 1}`,
    };
    this.messages.push(record);
    this.accepted += 1;
    if (decision.kind === 'drop') {
      this.sockets.get(session.remotePort)?.destroy();
      return;
    }
    callback(null, `OK queued as ${record.queueId}`);
  }
}

