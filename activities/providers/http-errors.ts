import { ProviderSendError } from './types';

/** Options every HTTP adapter takes as its optional 4th constructor argument. */
export interface HttpProviderOptions {
  /** Whole-request timeout; a timeout after the request went out is `ambiguous`. Default 30 s. */
  timeoutMs?: number;
  /** TCP connect timeout; failing to connect is `provider_down`. Default 10 s. */
  connectTimeoutMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** Response headers as fetch, axios and the AWS SDK hand them over. */
export type HeaderBag =
  | { get(name: string): string | null }
  | Record<string, unknown>
  | null
  | undefined;

export function getHeader(headers: HeaderBag, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as { get?: unknown }).get === 'function') {
    const v = (headers as { get(name: string): unknown }).get(name);
    if (v !== null && v !== undefined && typeof v !== 'function') return String(v);
  }
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(headers as Record<string, unknown>)) {
    if (k.toLowerCase() !== lower || v === undefined || v === null) continue;
    return Array.isArray(v) ? String(v[0]) : String(v);
  }
  return undefined;
}

/**
 * The provider's back-off hint in ms: `Retry-After` (delta-seconds or an
 * HTTP date), else `X-RateLimit-Reset` (epoch seconds, as SendGrid and
 * Mailgun send it; small values are taken as seconds from now).
 */
export function retryAfterMs(headers: HeaderBag, now = Date.now()): number | undefined {
  const retryAfter = getHeader(headers, 'retry-after')?.trim();
  if (retryAfter) {
    if (/^\d+(\.\d+)?$/.test(retryAfter)) return Math.round(Number(retryAfter) * 1000);
    const at = Date.parse(retryAfter);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  const reset = getHeader(headers, 'x-ratelimit-reset')?.trim();
  if (reset && /^\d+(\.\d+)?$/.test(reset)) {
    const n = Number(reset);
    // Anything before 2001 cannot be an epoch timestamp: it is a delta.
    return n > 1e9 ? Math.max(0, Math.round(n * 1000 - now)) : Math.round(n * 1000);
  }
  return undefined;
}

/**
 * Maps an HTTP error status onto the shared classes. Adapters look at the
 * provider's own error body first (a 400 about the sender is not about the
 * recipient) and fall back to this.
 *
 * - 429 → throttled, with the Retry-After / X-RateLimit-Reset hint.
 * - 401/403 → sender_misconfigured (bad or revoked key, unverified sender).
 * - 400/413/422 → recipient_permanent: this message will fail the same way every time.
 * - 404 and other 4xx → sender_misconfigured: a wrong domain, endpoint or
 *   account setting; pausing the mailbox makes it visible to a human.
 * - 500/502/503 → transient. The provider answered, so it did not take the
 *   message: the send moves to the mailbox's next provider in the same attempt,
 *   and the failure counts toward this account's breaker (one 503 is not an
 *   outage; a refused connection is provider_down). A Retry-After is kept.
 * - 504 → ambiguous: a gateway timed out waiting for the upstream that already
 *   had the request, which may have accepted it.
 */
export function classifyHttpStatus(provider: string, status: number, detail: string, headers?: HeaderBag): ProviderSendError {
  const msg = `${provider}: HTTP ${status}${detail ? ` ${detail}` : ''}`;
  const hint = retryAfterMs(headers);
  if (status === 429) return new ProviderSendError('throttled', msg, hint, status);
  if (status === 401 || status === 403) return new ProviderSendError('sender_misconfigured', msg, undefined, status);
  if (status === 400 || status === 413 || status === 422) return new ProviderSendError('recipient_permanent', msg, undefined, status);
  if (status === 408) return new ProviderSendError('transient', msg, hint, status);
  if (status === 504) return new ProviderSendError('ambiguous', msg, undefined, status);
  if (status >= 500) return new ProviderSendError('transient', msg, hint, status);
  return new ProviderSendError('sender_misconfigured', msg, undefined, status);
}

const BEFORE_SEND_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT']);
const AFTER_SEND_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED', // axios: "timeout of N ms exceeded"
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET', // undici: "other side closed"
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** The error's `code`, looking through `cause` chains (fetch wraps the socket error). */
export function errorCode(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, i = 0; e && i < 5; e = e.cause as typeof e, i++) {
    if (typeof e.code === 'string' && e.code) return e.code;
  }
  return undefined;
}

/** The failed system call (`connect`, `read`, `write`), looking through `cause` chains. */
export function errorSyscall(err: unknown): string | undefined {
  for (let e = err as { syscall?: unknown; cause?: unknown } | undefined, i = 0; e && i < 5; e = e.cause as typeof e, i++) {
    if (typeof e.syscall === 'string' && e.syscall) return e.syscall;
  }
  return undefined;
}

/**
 * The connection failed while it was being made (`connect ECONNRESET`, a
 * connect timeout): no byte of the request was written, whatever the code.
 */
export function failedWhileConnecting(err: unknown, text = errorText(err)): boolean {
  return errorSyscall(err) === 'connect' || /\bconnect E[A-Z]+\b/.test(text);
}

function errorText(err: unknown): string {
  const parts: string[] = [];
  for (let e = err as { name?: unknown; message?: unknown; cause?: unknown } | undefined, i = 0; e && i < 5; e = e.cause as typeof e, i++) {
    parts.push(`${String(e.name ?? '')}: ${String(e.message ?? '')}`);
  }
  return parts.join(' <- ');
}

/**
 * Maps a failure with no HTTP response. A connection that was never made
 * (refused, unreachable, or reset or timed out while connecting) is
 * provider_down: nothing was sent. A reset, hang-up or timeout once the
 * connection existed is ambiguous: the request body may have reached the
 * provider and been accepted, so it must not be re-sent blindly. Anything
 * else (DNS hiccup, a bug before the request) is transient.
 */
export function classifyNetworkError(provider: string, err: unknown): ProviderSendError {
  const code = errorCode(err);
  const text = errorText(err);
  const msg = `${provider}: ${text}${code && !text.includes(code) ? ` (${code})` : ''}`;
  if ((code && BEFORE_SEND_CODES.has(code)) || /ECONNREFUSED|did not establish a connection/i.test(text) || failedWhileConnecting(err, text)) {
    return new ProviderSendError('provider_down', msg, undefined, code);
  }
  if (
    (code && AFTER_SEND_CODES.has(code)) ||
    /socket hang up|other side closed|TimeoutError|AbortError|timed? ?out|ECONNRESET/i.test(text)
  ) {
    return new ProviderSendError('ambiguous', msg, undefined, code);
  }
  return new ProviderSendError('transient', msg, undefined, code);
}

/** Flattens a header map for the adapters: threading headers first, then the caller's. */
export function messageHeaders(m: {
  headers: Record<string, string>;
  inReplyTo?: string;
  references?: string[];
}): Record<string, string> {
  const out: Record<string, string> = {};
  if (m.inReplyTo) out['In-Reply-To'] = m.inReplyTo;
  if (m.references?.length) out.References = m.references.join(' ');
  for (const [k, v] of Object.entries(m.headers)) out[k] = v;
  return out;
}

/** `"Name" <address>` with the display name quoted, or RFC 2047-encoded when it is not ASCII. */
export function formatAddress(a: { address: string; name?: string }): string {
  if (!a.name) return a.address;
  const name = /^[\x20-\x7e]*$/.test(a.name)
    ? `"${a.name.replace(/["\\]/g, '\\$&')}"`
    : `=?UTF-8?B?${Buffer.from(a.name, 'utf8').toString('base64')}?=`;
  return `${name} <${a.address}>`;
}
