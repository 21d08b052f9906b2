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

/** An address in a URL path or query (DELETE /v1/suppressions/:email) is masked: the request log never holds it in clear. */
export const maskAddresses = (url: string) => url.replace(/[^/?&=]*(@|%40)[^/?&#]*/gi, '[redacted]');

interface LoggedRequest {
  method?: string;
  url?: string;
  version?: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

/** Fastify's own request serializer (method, url, host, address, port), with addresses masked in the URL. */
const requestSerializer = (req: LoggedRequest) => ({
  method: req.method,
  url: req.url === undefined ? undefined : maskAddresses(req.url),
  version: req.version,
  host: req.host,
  remoteAddress: req.ip,
  remotePort: req.socket?.remotePort,
});

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: { req: requestSerializer },
      base: { service: 'outreach-engine' },
    },
    destination,
  );
}

export type { Logger };
