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
    if (code >= 500 && cmd.startsWith('RCPT')) return new ProviderSendError('recipient_permanent', msg, undefined, code);
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
