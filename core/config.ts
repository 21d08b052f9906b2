import { createPublicKey } from 'node:crypto';
import { isIP } from 'node:net';
import { z } from 'zod';
import { parseCidrs } from './tracking/prefetch';

/**
 * The one schema over the environment. Parsed once per entry point
 * (api/server.ts, worker/main.ts, scripts/dev.ts) and passed down; nothing
 * else reads process.env.
 */
const port = (fallback: number) =>
  z
    .string()
    .trim()
    .regex(/^\d{1,5}$/, 'must be a port number (1-65535)')
    .transform(Number)
    .refine((n) => n >= 1 && n <= 65535, 'must be a port number (1-65535)')
    .default(fallback);

const hostPort = z
  .string()
  .trim()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be host:port, e.g. localhost:7233')
  .refine((v) => {
    const p = Number(v.slice(v.lastIndexOf(':') + 1));
    return p >= 1 && p <= 65535;
  }, 'port must be 1-65535');

const secretKey = z
  .string()
  .trim()
  .refine((v) => {
    try {
      return Buffer.from(v, 'base64').length === 32;
    } catch {
      return false;
    }
  }, 'must be 32 bytes, base64-encoded (e.g. `openssl rand -base64 32`)');

const postgresUrl = z
  .string()
  .trim()
  .refine((v) => /^postgres(ql)?:\/\//.test(v), 'must be a postgres:// URL');

const fraction = (fallback: number) =>
  z.string().regex(/^(0(\.\d+)?|1(\.0+)?)$/, 'must be a fraction between 0 and 1').transform(Number).default(fallback);
const wholeNumber = (fallback: number, unit = 'a whole number') =>
  z.string().regex(/^\d+$/, `must be ${unit}`).transform(Number).default(fallback);

/** Comma-separated SNS topic ARNs (the SES notification topics this API accepts). */
const topicArns = z
  .string()
  .transform((v) => v.split(',').map((a) => a.trim()).filter((a) => a !== ''))
  .refine(
    (arns) => arns.every((a) => /^arn:aws(-cn|-us-gov)?:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/.test(a)),
    'must be comma-separated SNS topic ARNs, e.g. arn:aws:sns:us-east-1:123456789012:ses-events',
  );

/** SendGrid's signed event webhook verification key: base64 DER (as SendGrid shows it) or PEM, ECDSA P-256. */
const ecPublicKey = z
  .string()
  .trim()
  .refine((v) => {
    try {
      const key = v.includes('BEGIN PUBLIC KEY')
        ? createPublicKey(v)
        : createPublicKey({ key: Buffer.from(v, 'base64'), format: 'der', type: 'spki' });
      return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
    } catch {
      return false;
    }
  }, 'must be an ECDSA P-256 public key (base64 DER as SendGrid shows it, or PEM)');

/** A DNS server by IP address, with an optional port: 127.0.0.1:5353, [::1]:53, 9.9.9.9. */
const dnsServer = z
  .string()
  .trim()
  .refine((v) => {
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+))(?::(\d{1,5}))?$/.exec(v) ?? /^([0-9a-fA-F:]+)$/.exec(v);
    if (!m) return false;
    const host = m[1] ?? m[2]!;
    const p = m[3] === undefined ? 53 : Number(m[3]);
    return isIP(host) !== 0 && p >= 1 && p <= 65535;
  }, 'must be an IP address with an optional port, e.g. 127.0.0.1:5353 or [::1]:53');

/** An IANA time zone the runtime knows (Temporal schedules take the same names). */
const ianaZone = z
  .string()
  .trim()
  .refine((v) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: v });
      return true;
    } catch {
      return false;
    }
  }, 'must be an IANA time zone, e.g. UTC or Europe/Berlin');

/** A plain decimal (no sign, no exponent) of at least `min` (above `min` when `exclusive`). */
const decimal = (fallback: number, unit: string, min = 0, exclusive = false) =>
  z.string().trim().regex(/^\d+(\.\d+)?$/, `must be ${unit}, a plain decimal like 0.08`).transform(Number)
    .refine((n) => Number.isFinite(n) && (exclusive ? n > min : n >= min), `must be ${unit}${exclusive ? ` above ${min}` : ''}`)
    .default(fallback);

const positiveWhole = (fallback: number, unit: string) =>
  z.string().regex(/^\d+$/, `must be ${unit}`).transform(Number).refine((n) => n > 0, `must be ${unit} above 0`).default(fallback);

/**
 * Fastify's trustProxy: false (the default), true, or a list of proxy addresses / CIDRs (or proxy-addr's
 * names loopback, linklocal, uniquelocal). Fastify 5 no longer honours a hop count (it cannot check the
 * immediate peer), so a number is refused rather than silently trusting nothing.
 */
const PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];
function isAddressOrCidr(v: string): boolean {
  if (PROXY_NAMES.includes(v)) return true;
  const [host, bits, ...rest] = v.split('/');
  const family = isIP(host ?? '');
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}
const trustProxy = z
  .string()
  .trim()
  .refine((v) => !/^\d+$/.test(v), 'a hop count is not supported (Fastify cannot check the peer with it): list the proxies\' addresses or CIDRs instead')
  .refine(
    (v) => /^\d+$/.test(v) || v === 'true' || v === 'false' || v.split(',').every((p) => isAddressOrCidr(p.trim())),
    'must be false, true, or comma-separated proxy addresses or CIDRs (e.g. 10.0.0.0/8,127.0.0.1, or loopback)',
  )
  .transform((v): boolean | string[] => (v === 'true' ? true : v === 'false' ? false : v.split(',').map((p) => p.trim())));

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  HOST: z.string().trim().min(1).default('127.0.0.1'),
  PORT: port(3000),
  PUBLIC_BASE_URL: z.url().optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  DATABASE_URL: postgresUrl.optional(),
  DATABASE_POOL_MAX: z.string().regex(/^\d+$/, 'must be a whole number').transform(Number).default(10),
  EMBEDDED_PG_DIR: z.string().trim().min(1).default('.data/postgres'),
  EMBEDDED_PG_PORT: port(54329),
  TEMPORAL_ADDRESS: hostPort.default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().trim().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().trim().min(1).default('outreach'),
  TEMPORAL_UI_PORT: port(8233),
  TEMPORAL_DB_FILE: z.string().trim().min(1).default('.data/temporal.sqlite'),
  /** npm run dev: start a Temporal dev server on TEMPORAL_ADDRESS's port (false = use a running one). */
  DEV_START_TEMPORAL: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  DEV_DATA_DIR: z.string().trim().min(1).default('.data'),
  ADMIN_API_KEY: z.string().trim().min(16, 'must be at least 16 characters').optional(),
  CREDENTIALS_KEY: secretKey.optional(),
  /** Key erased addresses are hashed under (README "Privacy"): 32 bytes, base64. Unset = derived from CREDENTIALS_KEY. */
  PRIVACY_HASH_KEY: secretKey.optional(),
  /** Raw provider event payloads and rendered previews older than this are pruned daily (README "Privacy"). */
  DATA_RETENTION_DAYS: z
    .string()
    .regex(/^\d+$/, 'must be a whole number of days')
    .transform(Number)
    .refine((n) => n >= 1 && n <= 3650, 'must be 1-3650 days')
    .default(365),
  /**
   * What a send whose outcome is unknown (timeout or reset after the request went out) does:
   * at-most-once marks it unknown and never re-sends (the default: no doubled mail);
   * at-least-once retries it (no lost mail, but a lead may get it twice).
   */
  SEND_DELIVERY_GUARANTEE: z.enum(['at-most-once', 'at-least-once']).default('at-most-once'),
  PROVIDER_BREAKER_FAILURE_RATE: z.string().regex(/^(0(\.\d+)?|1(\.0+)?)$/, 'must be a fraction between 0 and 1').transform(Number).default(0.05),
  PROVIDER_BREAKER_MIN_ATTEMPTS: z.string().regex(/^\d+$/, 'must be a whole number').transform(Number).default(20),
  PROVIDER_BREAKER_WINDOW_SECONDS: z.string().regex(/^\d+$/, 'must be a whole number of seconds').transform(Number).default(300),
  PROVIDER_BREAKER_OPEN_SECONDS: z.string().regex(/^\d+(\.\d+)?$/, 'must be a number of seconds').transform(Number).default(30),
  /** Bearer token Prometheus scrapes /metrics with (the operator key works too). */
  METRICS_TOKEN: z.string().trim().min(16, 'must be at least 16 characters').optional(),
  /** npm run demo: leads in its two-step campaign (a few suppressed on purpose). */
  DEMO_LEADS: z.string().regex(/^\d+$/, 'must be a whole number').transform(Number).refine((n) => n >= 1 && n <= 100_000, 'must be 1-100000').default(3000),
  /** npm run demo: sender mailboxes, spread over 4 pools and 8 sending domains. */
  DEMO_MAILBOXES: z.string().regex(/^\d+$/, 'must be a whole number').transform(Number).refine((n) => n >= 4 && n <= 10_000, 'must be 4-10000').default(1200),
  /** npm run demo: delay of the follow-up step, in seconds. */
  DEMO_FOLLOWUP_SECONDS: z.string().regex(/^\d+$/, 'must be a whole number of seconds').transform(Number).default(60),
  /** npm run demo: stop everything once the campaign is done (true) or keep it up for the Web UI until Ctrl-C (false). */
  DEMO_EXIT: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  /** Encrypts Temporal payloads (AES-256-GCM; core/codec.ts): 32 bytes, base64. Unset = payloads in clear. */
  TEMPORAL_PAYLOAD_KEY: secretKey.optional(),
  /** Earlier payload keys, comma-separated, still accepted for decoding after a rotation. */
  TEMPORAL_PAYLOAD_OLD_KEYS: z
    .string()
    .transform((v) => v.split(',').map((k) => k.trim()).filter(Boolean))
    .refine((keys) => keys.every((k) => Buffer.from(k, 'base64').length === 32), 'must be comma-separated keys of 32 bytes, base64-encoded')
    .default([]),
  /** Origins (the Temporal Web UI's) allowed to call the API's /codec endpoint from a browser, comma-separated. */
  CODEC_CORS_ORIGINS: z
    .string()
    .transform((v) => v.split(',').map((o) => o.trim().replace(/\/$/, '')).filter(Boolean))
    .refine((origins) => origins.every((o) => /^https?:\/\/[^/\s]+$/.test(o)), 'must be comma-separated origins like http://localhost:8233')
    .default(['http://localhost:8233', 'http://127.0.0.1:8233']),
  API_BODY_LIMIT_BYTES: z.string().regex(/^\d+$/, 'must be a whole number of bytes').transform(Number).default(1_048_576),
  /** Provider webhooks (see README "Feedback loop"): unset = that webhook refuses every request. */
  SES_SNS_TOPIC_ARNS: topicArns.default([]),
  SENDGRID_WEBHOOK_PUBLIC_KEY: ecPublicKey.optional(),
  /** Oldest signed timestamp accepted: 10 minutes (each delivery, retries included, is signed afresh). */
  SENDGRID_WEBHOOK_MAX_AGE_SECONDS: wholeNumber(600, 'a whole number of seconds'),
  MAILGUN_WEBHOOK_SIGNING_KEY: z.string().trim().min(8, 'must be the Mailgun HTTP webhook signing key').optional(),
  MAILGUN_WEBHOOK_MAX_AGE_SECONDS: wholeNumber(300, 'a whole number of seconds'),
  /** Alerts are also POSTed here as JSON when set. */
  ALERT_WEBHOOK_URL: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).optional(),
  /**
   * The one mailbox reputation rule (README "Reputation"): a bounce / complaint rate whose Wilson lower bound
   * at MAILBOX_RATE_CONFIDENCE is above its threshold, over the mailbox's sends in the window, cools it down.
   */
  MAILBOX_BOUNCE_THRESHOLD: fraction(0.02),
  MAILBOX_COMPLAINT_THRESHOLD: fraction(0.001),
  MAILBOX_RATE_CONFIDENCE: z
    .string()
    .regex(/^0\.\d+$/, 'must be a confidence between 0.5 and 1, e.g. 0.95')
    .transform(Number)
    .refine((n) => n > 0.5 && n < 1, 'must be a confidence between 0.5 and 1, e.g. 0.95')
    .default(0.95),
  MAILBOX_MIN_BOUNCES: positiveWhole(2, 'a whole number of bounces'),
  MAILBOX_MIN_COMPLAINTS: positiveWhole(1, 'a whole number of complaints'),
  MAILBOX_FEEDBACK_WINDOW_HOURS: positiveWhole(168, 'a whole number of hours'),
  MAILBOX_BOUNCE_COOLDOWN_HOURS: wholeNumber(12, 'a whole number of hours'),
  MAILBOX_COMPLAINT_COOLDOWN_HOURS: wholeNumber(24, 'a whole number of hours'),
  /** Reputation controller and daily rotation (README "Reputation and rotation"). Unset = on, except NODE_ENV=test. */
  SCHEDULES_ENABLED: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
  /** Each client rotates daily at ROTATION_HOUR in its own zone; the agency's own mailboxes and domains in this one. */
  ROTATION_TIMEZONE: ianaZone.default('UTC'),
  ROTATION_HOUR: z.string().regex(/^\d{1,2}$/, 'must be an hour 0-23').transform(Number).refine((n) => n <= 23, 'must be an hour 0-23').default(3),
  REPUTATION_WINDOW_HOURS: positiveWhole(24, 'a whole number of hours'),
  REPUTATION_PROVIDER_WINDOW_MINUTES: positiveWhole(15, 'a whole number of minutes'),
  REPUTATION_PROVIDER_FAILURE_RATE: fraction(0.1),
  REPUTATION_PROVIDER_MIN_ATTEMPTS: positiveWhole(20, 'a whole number'),
  REPUTATION_DOMAIN_DELIVERY_MIN: fraction(0.95),
  REPUTATION_MIN_SAMPLE: positiveWhole(100, 'a whole number'),
  MAILBOX_REST_HOURS: positiveWhole(24, 'a whole number of hours'),
  /**
   * Which proxies in front of the API are believed about the client (X-Forwarded-For, -Proto, -Host):
   * false trusts none (the socket's peer is the client), true trusts any (only behind a proxy that
   * overwrites those headers), a list trusts those addresses / CIDRs.
   */
  TRUST_PROXY: trustProxy.default(false),
  /** Rate limits (README "Rate limits"): each counts over RATE_LIMIT_WINDOW_SECONDS, per API process. */
  RATE_LIMIT_WINDOW_SECONDS: positiveWhole(60, 'a whole number of seconds'),
  RATE_LIMIT_PER_IP: positiveWhole(2400, 'a whole number of requests'),
  RATE_LIMIT_PER_KEY: positiveWhole(1200, 'a whole number of requests'),
  RATE_LIMIT_SIGN_IN_PER_IP: positiveWhole(5, 'a whole number of attempts'),
  RATE_LIMIT_AUTH_FAILURES_PER_IP: positiveWhole(10, 'a whole number of failures'),
  /** How long a codec sign-in (POST /codec/login) lasts: 1 minute to 7 days. */
  CODEC_SESSION_SECONDS: z
    .string()
    .regex(/^\d+$/, 'must be a whole number of seconds')
    .transform(Number)
    .refine((n) => n >= 60 && n <= 7 * 86_400, 'must be 60-604800 seconds (1 minute to 7 days)')
    .default(12 * 3600),
  /** Open and click tracking (README "Opens and clicks"): a request this soon after its send is a prefetch. */
  TRACKING_PREFETCH_SECONDS: wholeNumber(10, 'a whole number of seconds'),
  /** More address ranges whose tracking requests are prefetches (a security gateway's egress), comma-separated. */
  TRACKING_PREFETCH_CIDRS: z
    .string()
    .transform((v) => v.split(',').map((c) => c.trim()).filter(Boolean))
    .refine((list) => !('bad' in parseCidrs(list)), 'must be comma-separated IP addresses or CIDRs, e.g. 40.92.0.0/15,2a01:111::/32')
    .default([]),
  /** DNS server the domain checks ask (unset = the system's resolvers). */
  DNS_SERVER: dnsServer.optional(),
  /** Inbound mail webhooks (README "Feedback loop", "Replies through providers"): unset = that route refuses every request. */
  SES_INBOUND_TOPIC_ARNS: topicArns.default([]),
  /** An SNS notification of received mail older than this (its signed Timestamp) is refused. */
  SES_INBOUND_MAX_AGE_SECONDS: wholeNumber(3600, 'a whole number of seconds'),
  /** The secret path segment of SendGrid Inbound Parse's URL (/webhooks/sendgrid/inbound/<token>). */
  SENDGRID_INBOUND_TOKEN: z.string().trim().regex(/^[A-Za-z0-9_-]{32,200}$/, 'must be 32-200 letters, digits, _ or -').optional(),
  /** The basic-auth credentials in SendGrid Inbound Parse's URL, as user:password. */
  SENDGRID_INBOUND_BASIC_AUTH: z.string().regex(/^[^:\s]{1,100}:\S{16,200}$/, 'must be user:password (a password of at least 16 characters)').optional(),
  /** Inbox watchers (README "Feedback loop"): a server without IDLE is polled this often. */
  IMAP_POLL_SECONDS: positiveWhole(60, 'a whole number of seconds'),
  /** How long one IMAP session lasts before the watcher starts the next (one activity each). */
  IMAP_SESSION_MINUTES: positiveWhole(60, 'a whole number of minutes'),
  /** IMAP sessions one worker process holds at once (its IMAP task queue's activity slots). */
  IMAP_MAX_SESSIONS: positiveWhole(1000, 'a whole number of sessions'),
  /**
   * Cost per email (README "Cost per email"): the engine's share is estimated from the Temporal actions a sent
   * email takes (measured: README "Performance"), their price, and a monthly infrastructure figure spread over
   * that month's sends; the target is what the metric and the reports compare the total with.
   */
  ACTIONS_PER_EMAIL: decimal(5.15, 'a number of Temporal actions per sent email', 0, true),
  TEMPORAL_PRICE_PER_MILLION_ACTIONS: decimal(50, 'USD per million Temporal actions'),
  INFRA_MONTHLY_USD: decimal(0, 'USD a month'),
  COST_PER_EMAIL_TARGET_USD: decimal(0.08, 'USD per email', 0, true),
}).superRefine((c, ctx) => {
  // Unsubscribe links and List-Unsubscribe are built on PUBLIC_BASE_URL; RFC 8058 one-click needs an https URI.
  if (c.NODE_ENV === 'production' && !(c.PUBLIC_BASE_URL && new URL(c.PUBLIC_BASE_URL).protocol === 'https:')) {
    ctx.addIssue({
      code: 'custom',
      path: ['PUBLIC_BASE_URL'],
      message: `must be the API's public https URL in production (RFC 8058 one-click unsubscribe needs https), e.g. https://outreach.example.com; got ${c.PUBLIC_BASE_URL ? 'a non-https URL' : 'none'}`,
    });
  }
});

export type Config = z.output<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly issues: { variable: string; message: string }[]) {
    super(
      'Invalid configuration:\n' + issues.map((i) => `  ${i.variable}: ${i.message}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

/** Parses the environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, required: (keyof Config)[] = []): Config {
  // Empty strings count as unset, as in most 12-factor tooling.
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v !== '') cleaned[key] = v;
  }
  const parsed = configSchema.safeParse(cleaned);
  if (!parsed.success) {
    const byVariable = new Map<string, string[]>();
    for (const i of parsed.error.issues) {
      const variable = String(i.path[0] ?? '(env)');
      const messages = byVariable.get(variable) ?? [];
      if (!messages.includes(i.message)) messages.push(i.message);
      byVariable.set(variable, messages);
    }
    throw new ConfigError([...byVariable].map(([variable, messages]) => ({ variable, message: messages.join('; ') })));
  }
  const missing = required.filter((k) => parsed.data[k] === undefined);
  if (missing.length > 0) {
    throw new ConfigError(missing.map((variable) => ({ variable, message: 'is required' })));
  }
  return parsed.data;
}

/** For entry points: print the error naming the variable and exit non-zero. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env, required: (keyof Config)[] = []): Config {
  try {
    return loadConfig(env, required);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(err.message + '\n');
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
}

/** The task queue of the inbox watchers' sessions: apart from the sends', so long IMAP sessions never take a send's slot. */
export const imapTaskQueue = (c: Pick<Config, 'TEMPORAL_TASK_QUEUE'>): string => `${c.TEMPORAL_TASK_QUEUE}-imap`;
