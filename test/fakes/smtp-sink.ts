import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
  headers: Record<string, string>;
}

/**
 * A real SMTP server (the smtp-server package) on a free loopback port that
 * records every message it accepts, and refuses the recipients it is told to
 * at RCPT TO with the reply it is given (`rejectRecipient`).
 */
export class SmtpSink {
  readonly received: ReceivedMail[] = [];
  /** RCPT TO commands refused, by recipient (lower-cased). */
  readonly refused: string[] = [];
  private readonly rcptReplies = new Map<string, { code: number; text: string }>();
  readonly logins: { username: string; password: string }[] = [];
  /** Connection errors (a client killed mid-session resets its socket): kept, never thrown. */
  readonly errors: Error[] = [];
  private server: SMTPServer;
  port = 0;

  constructor() {
    this.server = new SMTPServer({
      authOptional: true,
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      onAuth: (auth, _session, callback) => {
        this.logins.push({ username: auth.username ?? '', password: auth.password ?? '' });
        callback(null, { user: auth.username });
      },
      logger: false,
      onRcptTo: (address, _session, callback) => {
        const to = address.address.toLowerCase();
        const reply = this.rcptReplies.get(to);
        if (!reply) return callback();
        this.refused.push(to);
        callback(Object.assign(new Error(reply.text), { responseCode: reply.code }));
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          this.received.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw,
            headers: parseHeaders(raw),
          });
          callback(null, `250 OK queued as sink${this.received.length}`);
        });
      },
    });
    // smtp-server re-emits every connection's socket error on the server; unheard, the second one would crash the process.
    this.server.on('error', (err: Error) => void this.errors.push(err));
  }

  /** RCPT TO for this address is answered `<code> <text>`, e.g. 550 "5.1.1 No such user", or 550 "5.7.1 Relaying denied". */
  rejectRecipient(address: string, code = 550, text = '5.1.1 No such user here'): this {
    this.rcptReplies.set(address.toLowerCase(), { code, text });
    return this;
  }

  /** RCPT TO for this address is accepted again (undoes rejectRecipient). */
  acceptRecipient(address: string): this {
    this.rcptReplies.delete(address.toLowerCase());
    return this;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = ((this.server as unknown as { server: { address(): AddressInfo } }).server.address()).port;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Header fields of a raw message, lower-cased names, folded lines unfolded. */
export function parseHeaders(raw: string): Record<string, string> {
  const head = raw.split(/\r?\n\r?\n/, 1)[0] ?? '';
  const out: Record<string, string> = {};
  let last = '';
  for (const line of head.split(/\r?\n/)) {
    if (/^\s/.test(line) && last) out[last] += ' ' + line.trim();
    else {
      const i = line.indexOf(':');
      if (i > 0) {
        last = line.slice(0, i).toLowerCase();
        out[last] = line.slice(i + 1).trim();
      }
    }
  }
  for (const k of Object.keys(out)) out[k] = out[k]!.trim(); // unfold
  return out;
}
