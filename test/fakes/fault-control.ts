import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';

export interface ThrottleFault {
  /** HTTP status (default 429); the SMTP fake uses a 4xx SMTP code (default 421). */
  status?: number;
  retryAfterSeconds?: number;
  /** Sent as an HTTP date in Retry-After. */
  retryAfterDate?: Date;
  /** Sent as X-RateLimit-Reset (epoch seconds). */
  resetEpochSeconds?: number;
  times?: number;
}

/** A fixed response, for provider-specific error codes the generic faults do not cover. */
export interface CannedResponse {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  times?: number;
}

export type Decision =
  | { kind: 'ok' }
  | { kind: 'auth' }
  | { kind: 'throttle'; fault: ThrottleFault }
  | { kind: 'fail'; status: number }
  | { kind: 'reject'; address: string }
  | { kind: 'drop' }
  | { kind: 'canned'; response: CannedResponse };

interface Counted<T> {
  value: T;
  left: number; // Infinity until recover()
}

/**
 * The fault switchboard every fake shares. Faults stay until `recover()`
 * unless given `times`; `outage()` closes the listening socket (connections
 * are refused) while keeping the port for `recover()`.
 */
export abstract class FaultControl {
  /** Send attempts that reached the fake (refused connections are not attempts). */
  attempts = 0;
  /** Messages the fake took responsibility for (including dropAfterAccept). */
  accepted = 0;
  port = 0;

  private latencyMs = 0;
  private authFailing = false;
  private throttles: Counted<ThrottleFault>[] = [];
  private failures: Counted<number>[] = [];
  private drops: Counted<true>[] = [];
  private canned: Counted<CannedResponse>[] = [];
  private readonly rejected = new Set<string>();
  private resets: Counted<true>[] = [];
  protected down = false;

  protected abstract bind(port: number): Promise<number>;
  /** Stops listening; `close-idle` / `keep` are graceful (requests in hand are answered). */
  protected abstract unbind(mode?: 'now' | 'close-idle' | 'keep'): Promise<void>;
  protected abstract get baseUrl(): string;

  async start(): Promise<string> {
    this.port = await this.bind(0);
    return this.baseUrl;
  }

  async stop(): Promise<void> {
    if (!this.down) await this.unbind();
    this.down = true;
  }

  latency(ms: number): this {
    this.latencyMs = ms;
    return this;
  }

  throttle(fault: ThrottleFault = {}): this {
    this.throttles.push({ value: fault, left: fault.times ?? Infinity });
    return this;
  }

  fail(status: number, times?: number): this {
    this.failures.push({ value: status, left: times ?? Infinity });
    return this;
  }

  dropAfterAccept(times?: number): this {
    this.drops.push({ value: true, left: times ?? Infinity });
    return this;
  }

  respondWith(response: CannedResponse): this {
    this.canned.push({ value: response, left: response.times ?? Infinity });
    return this;
  }

  /**
   * New connections are reset (TCP RST) as soon as they are accepted, before
   * a byte of the request could be written: the client sees `connect
   * ECONNRESET`. Idle kept-alive connections are closed first, so the next
   * send has to connect.
   */
  async resetConnections(times?: number): Promise<void> {
    this.resets.push({ value: true, left: times ?? Infinity });
    this.closeIdle();
    await new Promise((r) => setTimeout(r, 20));
  }

  /** Consumes one resetConnections fault for a connection just accepted. */
  protected takeReset(): boolean {
    return take(this.resets) === true;
  }

  /** Closes connections with no request in hand (the fakes that pool connections). */
  protected closeIdle(): void {}

  rejectRecipient(address: string): this {
    this.rejected.add(address.toLowerCase());
    return this;
  }

  authFail(): this {
    this.authFailing = true;
    return this;
  }

  /**
   * The provider goes down: the listener closes and new connections are
   * refused; requests already being handled still get their answer (a
   * request cut off mid-flight is `dropAfterAccept`'s job). Idle kept-alive
   * connections are closed too, so the next attempt is refused outright.
   *
   * Closing an idle connection races a client writing its next request on
   * it, which the client sees as an ambiguous reset. Tests with many sends
   * in flight pass `keepConnections`: connections opened before the outage
   * stay open and any request on them gets 503 and a hang-up, as from a load
   * balancer whose backends are gone.
   */
  async outage(opts: { keepConnections?: boolean } = {}): Promise<void> {
    if (this.down) return;
    this.down = true;
    await this.unbind(opts.keepConnections ? 'keep' : 'close-idle');
    // Let clients see their pooled connections close, as they would after a real outage.
    await new Promise((r) => setTimeout(r, 20));
  }

  /** Clears every fault and, after an outage, listens again on the same port. */
  async recover(): Promise<void> {
    this.latencyMs = 0;
    this.authFailing = false;
    this.throttles = [];
    this.failures = [];
    this.drops = [];
    this.canned = [];
    this.resets = [];
    this.rejected.clear();
    if (this.down) {
      await this.bind(this.port);
      this.down = false;
    }
  }

  protected async delay(): Promise<void> {
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs).unref());
  }

  protected isAuthFailing(): boolean {
    return this.authFailing;
  }

  protected isRejected(address: string): boolean {
    return this.rejected.has(address.toLowerCase());
  }

  /**
   * What to do with one attempt, in the order a real provider would find out:
   * credentials, rate limit, canned error, server failure, recipient, then
   * accept (or accept and drop the connection). Consumes one `times`.
   */
  protected decide(recipients: string[]): Decision {
    if (this.authFailing) return { kind: 'auth' };
    const t = take(this.throttles);
    if (t) return { kind: 'throttle', fault: t };
    const c = take(this.canned);
    if (c) return { kind: 'canned', response: c };
    const f = take(this.failures);
    if (f !== undefined) return { kind: 'fail', status: f };
    const bad = recipients.find((r) => this.isRejected(r));
    if (bad) return { kind: 'reject', address: bad };
    if (take(this.drops)) return { kind: 'drop' };
    return { kind: 'ok' };
  }
}

function take<T>(list: Counted<T>[]): T | undefined {
  const head = list.find((x) => x.left > 0);
  if (!head) return undefined;
  head.left -= 1;
  return head.value;
}

/** Headers a throttle fault sends: Retry-After (seconds or date) and X-RateLimit-Reset. */
export function throttleHeaders(f: ThrottleFault): Record<string, string> {
  const h: Record<string, string> = {};
  if (f.retryAfterSeconds !== undefined) h['Retry-After'] = String(f.retryAfterSeconds);
  else if (f.retryAfterDate) h['Retry-After'] = f.retryAfterDate.toUTCString();
  if (f.resetEpochSeconds !== undefined) h['X-RateLimit-Reset'] = String(f.resetEpochSeconds);
  return h;
}

export interface HttpReply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface ParsedRequest<R> {
  /** What the fake records if it accepts the message. */
  record: R;
  recipients: string[];
}

/**
 * An HTTP fake on 127.0.0.1: one route, a parsed body, the shared faults,
 * and the provider's own error and success shapes from the subclass.
 */
export abstract class HttpFake<R> extends FaultControl {
  readonly messages: R[] = [];
  /** Part of every message id, so ids stay unique across fakes and suites sharing one database, as real providers' are. */
  protected readonly instance = randomBytes(4).toString('hex');
  private http?: http.Server;
  private listener?: net.Server;
  private readonly sockets = new Map<net.Socket, number>();

  protected abstract matches(req: http.IncomingMessage): boolean;
  /** Throws a HttpReply for a request the real API would refuse outright. */
  protected abstract parse(req: http.IncomingMessage, body: Buffer): ParsedRequest<R>;
  protected abstract acceptedReply(record: R, index: number): HttpReply;
  protected abstract errorReply(decision: Exclude<Decision, { kind: 'ok' } | { kind: 'drop' }>): HttpReply;

  protected get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  protected async bind(port: number): Promise<number> {
    // The listener and the HTTP server are separate so an outage can stop
    // accepting connections without http.Server.close(), which also closes
    // idle kept-alive sockets (racing a client writing its next request).
    const server = (this.http ??= this.createHttpServer());
    const listener = net.createServer((socket) => {
      if (this.takeReset()) {
        socket.resetAndDestroy();
        return;
      }
      this.sockets.set(socket, 0);
      socket.on('close', () => this.sockets.delete(socket));
      server.emit('connection', socket);
    });
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(port, '127.0.0.1', () => resolve());
    });
    this.listener = listener;
    return (listener.address() as AddressInfo).port;
  }

  protected async unbind(mode: 'now' | 'close-idle' | 'keep' = 'now'): Promise<void> {
    const listener = this.listener;
    this.listener = undefined;
    if (!listener) return;
    // The close callback waits for every connection the listener accepted.
    const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
    if (mode === 'now') {
      this.closeConnections(false);
      await closed;
      return;
    }
    // 'keep': open connections stay with the handler, which answers what is
    // in hand and 503s anything new on them (then hangs up).
    if (mode === 'close-idle') this.closeConnections(true);
  }

  protected override closeIdle(): void {
    this.closeConnections(true);
  }

  /**
   * http.Server only tracks connections it accepted through its own listen(),
   * so the fake tracks them: the number of requests each socket has in hand.
   */
  private closeConnections(idleOnly: boolean): void {
    for (const [socket, busy] of this.sockets) if (!idleOnly || busy === 0) socket.destroy();
  }

  /** Closes every connection, including ones kept open through an outage. */
  override async stop(): Promise<void> {
    await super.stop();
    this.closeConnections(false);
  }

  private createHttpServer(): http.Server {
    const server = http.createServer((req, res) => {
      const socket = req.socket;
      this.sockets.set(socket, (this.sockets.get(socket) ?? 0) + 1);
      res.on('close', () => {
        if (this.sockets.has(socket)) this.sockets.set(socket, Math.max(0, (this.sockets.get(socket) ?? 1) - 1));
      });
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) send(res, { status: 500, body: { message: String(err) } });
        else res.destroy();
      });
    });
    // No idle timeout: the fake never closes a kept-alive socket on its own,
    // so a client never writes a request onto a socket being closed.
    server.keepAliveTimeout = 0;
    return server;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (!this.matches(req)) return send(res, { status: 404, body: { message: `no route ${req.method} ${req.url}` } });
    if (this.down) {
      // A request on a kept-alive connection after the outage began: refused before any work.
      res.shouldKeepAlive = false;
      return send(res, { status: 503, body: { message: 'service unavailable' } });
    }
    this.attempts += 1;
    await this.delay();
    let parsed: ParsedRequest<R>;
    try {
      parsed = this.parse(req, Buffer.concat(chunks));
    } catch (reply) {
      if (reply && typeof reply === 'object' && 'status' in reply) return send(res, reply as HttpReply);
      throw reply;
    }
    const decision = this.decide(parsed.recipients);
    if (this.down) res.shouldKeepAlive = false; // the outage began while this one was in hand: answer it, then hang up
    if (decision.kind === 'ok' || decision.kind === 'drop') {
      this.messages.push(parsed.record);
      this.accepted += 1;
      if (decision.kind === 'drop') {
        req.socket.destroy();
        return;
      }
      return send(res, this.acceptedReply(parsed.record, this.messages.length));
    }
    if (decision.kind === 'canned') return send(res, decision.response);
    return send(res, this.errorReply(decision));
  }
}

function send(res: http.ServerResponse, reply: HttpReply): void {
  const headers = { ...(reply.headers ?? {}) };
  let payload = '';
  if (reply.body !== undefined) {
    if (typeof reply.body === 'string') payload = reply.body;
    else {
      payload = JSON.stringify(reply.body);
      headers['Content-Type'] ??= 'application/json';
    }
  }
  res.writeHead(reply.status, headers);
  res.end(payload);
}

/** Case-insensitive Basic / Bearer credentials from a request. */
export function authOf(req: http.IncomingMessage): string {
  return String(req.headers.authorization ?? '');
}
