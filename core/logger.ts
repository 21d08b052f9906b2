import pino, { type Logger } from 'pino';

/**
 * Paths never logged in clear: credentials, API keys and recipient
 * addresses. Log clientId / campaignId / mailboxId as fields instead.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  '*.authorization',
  'apiKey',
  '*.apiKey',
  'password',
  '*.password',
  '*.*.password',
  'config',
  '*.config',
  'credentials',
  '*.credentials',
  'secret',
  '*.secret',
  'to',
  '*.to',
  'email',
  '*.email',
  'recipient',
  '*.recipient',
  'leads',
  '*.leads',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { service: 'outreach-engine' },
    },
    destination,
  );
}

export type { Logger };
