import nodemailer, { type Transporter } from 'nodemailer';
import type { z } from 'zod';
import type { smtpConfig } from '../../core/schemas/providers';
import { failedWhileConnecting } from './http-errors';
import { ProviderSendError, type EmailProvider, type OutgoingMessage, type SendResult } from './types';

type SmtpConfig = z.infer<typeof smtpConfig>;

interface SmtpError extends Error {
  code?: string;
  command?: string;
  responseCode?: number;
  response?: string;
}

interface SmtpTimeoutError extends SmtpError {
  timeoutType?: string;
}

/**
 * RFC 3463 subject.detail of a permanent (5.x.x) reply that says the
 * recipient's address is bad: 1.1 no such mailbox, 1.2 no such domain, 1.3
 * bad address syntax, 1.4 ambiguous address, 1.6 mailbox moved with no
 * forwarding, 1.10 null MX (RFC 7505), 2.1 mailbox disabled.
 */
const RECIPIENT_INVALID_DETAILS = new Set(['1.1', '1.2', '1.3', '1.4', '1.6', '1.10', '2.1']);
/** 1.7 / 1.8: the sender's address (syntax, system) is bad. */
const SENDER_DETAILS = new Set(['1.7', '1.8']);
/** A rejection about us rather than the recipient: the relay will not take our mail, or our sender fails a check. */
const SENDER_TEXT = /\brelay|\bsender\b|authenticat|\bspf\b|\bdmarc\b|\bdkim\b/i;
/** A refusal of this message by the recipient's system (our IP or content is blocked): not the address's fault. */
const POLICY_TEXT = /spam|block|blacklist|\blisted\b|dnsbl|\brbl\b|reputation|policy|rate limit|too many|abuse|content|virus/i;

/**
 * A permanent (5xx) reply to RCPT TO. A hard bounce (recipient_invalid) is a
 * rejection of the address itself: an enhanced status code that says so, or,
 * without one, a 550 / 551 / 553 that is not about the sender, the relay or
 * a policy. A rejection naming the relay or our sender (`550 5.7.1 Relaying
 * denied`, `553 Sender address rejected`) is the mailbox's setup
 * (sender_misconfigured, never a suppression); any other permanent refusal
 * fails this lead's send without judging its address (recipient_permanent).
 */
export function classifyRcptRejection(code: number, reply: string): 'recipient_invalid' | 'recipient_permanent' | 'sender_misconfigured' {
  // The reply text after its code (nodemailer's message prefixes it with its own words), without the
  // addresses it quotes: a recipient named relay@… or sender@… says nothing about the relay or the sender.
  const text = (/\b[2-5]\d\d[ -]?(.*)$/s.exec(reply)?.[1] ?? reply).replace(/<[^>]*>|[^\s<>]+@[^\s<>]+/g, ' ').trim();
  const enhanced = /^([245])\.(\d{1,3}\.\d{1,3})\b/.exec(text);
  if (SENDER_TEXT.test(text) || (enhanced && SENDER_DETAILS.has(enhanced[2]!))) return 'sender_misconfigured';
  if (enhanced) return enhanced[1] === '5' && RECIPIENT_INVALID_DETAILS.has(enhanced[2]!) ? 'recipient_invalid' : 'recipient_permanent';
  if (POLICY_TEXT.test(text)) return 'recipient_permanent';
  return code === 550 || code === 551 || code === 553 ? 'recipient_invalid' : 'recipient_permanent';
}

/** Maps a nodemailer failure onto the shared classes. */
export function classifySmtpError(err: SmtpTimeoutError): ProviderSendError {
  const code = err.responseCode;
  const cmd = (err.command ?? '').toUpperCase();
  const msg = `smtp: ${err.message}`;
  const afterData = cmd.startsWith('DATA') || cmd === 'MESSAGE';
  if (err.code === 'EAUTH' || cmd.startsWith('AUTH')) return new ProviderSendError('sender_misconfigured', msg, undefined, code);
  if (code !== undefined) {
    // After the body went over the wire a rejection leaves the outcome in doubt: never re-send blindly.
    if (afterData && code >= 500) return new ProviderSendError('ambiguous', msg, undefined, code);
    if (afterData && code >= 400) return new ProviderSendError('transient', msg, undefined, code);
    if (code === 421 || code === 450 || code === 451 || code === 452) {
      return new ProviderSendError('throttled', msg, 60_000, code);
    }
    if (code >= 500 && cmd.startsWith('RCPT')) return new ProviderSendError(classifyRcptRejection(code, err.response ?? err.message), msg, undefined, code);
    if (code >= 500 && cmd.startsWith('MAIL')) return new ProviderSendError('sender_misconfigured', msg, undefined, code);
    if (code >= 500) return new ProviderSendError('recipient_permanent', msg, undefined, code);
    if (code >= 400) return new ProviderSendError('transient', msg, undefined, code);
  }
  // No reply code: the connection itself failed. Before a connection existed the message
  // surely did not go out (provider down); once it did, we cannot know (ambiguous).
  // nodemailer names every socket error's command CONN, so only the failed call tells a reset while
  // connecting (`connect ECONNRESET`: nothing written) from one later in the session.
  if (
    /ECONNREFUSED|EHOSTUNREACH|ENOTFOUND|ENETUNREACH/.test(err.message) ||
    err.timeoutType === 'CONNECT_TIMEOUT' ||
    err.timeoutType === 'GREETING_TIMEOUT' ||
    failedWhileConnecting(err, err.message)
  ) {
    return new ProviderSendError('provider_down', msg);
  }
  if (err.code === 'ECONNECTION' || err.code === 'ETIMEDOUT' || err.code === 'ESOCKET') {
    return new ProviderSendError('ambiguous', msg);
  }
  return new ProviderSendError('transient', msg);
}

/** SMTP through nodemailer: covers Unisender and any SMTP relay. */
export class SmtpProvider implements EmailProvider {
  readonly kind = 'smtp' as const;
  private readonly transport: Transporter;

  constructor(
    readonly accountId: string,
    readonly name: string,
    config: SmtpConfig,
  ) {
    this.transport = nodemailer.createTransport({
      host: config.host,
      port: config.port,
      secure: config.secure,
      requireTLS: config.requireTls,
      auth: config.user ? { user: config.user, pass: config.pass ?? '' } : undefined,
      pool: true,
      maxConnections: 5,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: config.requestTimeoutMs ?? 30_000,
      tls: { rejectUnauthorized: !['127.0.0.1', 'localhost', '::1'].includes(config.host) },
    });
  }

  async send(m: OutgoingMessage): Promise<SendResult> {
    try {
      const info = await this.transport.sendMail({
        from: m.from.name ? { name: m.from.name, address: m.from.address } : m.from.address,
        to: m.to,
        subject: m.subject,
        text: m.text,
        html: m.html,
        messageId: m.messageId,
        inReplyTo: m.inReplyTo,
        references: m.references,
        headers: { ...m.headers, 'X-Outreach-Correlation-Id': m.correlationId },
      });
      // SMTP has no provider id of its own beyond the queue reply; the Message-ID identifies it.
      const queued = /queued as ([A-Za-z0-9._-]+)/i.exec(String(info.response ?? ''))?.[1];
      return { providerMessageId: queued ?? info.messageId, messageIdHeader: info.messageId || m.messageId };
    } catch (err) {
      throw classifySmtpError(err as SmtpError);
    }
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}
