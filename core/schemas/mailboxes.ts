import { z } from 'zod';
import { headerProblem } from '../mail-headers';
import { cursorQuery, email, timezone, nonBlank } from './common';

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'must be HH:MM (24h)');

export const sendingWindow = z
  .strictObject({
    days: z.array(z.enum(WEEKDAYS)).min(1).max(7),
    start: hhmm,
    end: hhmm,
  })
  .refine((w) => w.start < w.end, { message: 'start must be before end', path: ['end'] });

export const mailboxLimits = z.strictObject({
  dailyMax: z.number().int().min(1).max(10_000).optional(),
  hourlyMax: z.number().int().min(1).max(10_000).optional(),
  minIntervalSeconds: z.number().int().min(0).max(86_400).optional(),
  jitterRatio: z.number().min(0).max(1).optional(),
});

export const warmupInput = z
  .strictObject({
    startPerDay: z.number().int().min(1).max(10_000),
    increasePerDay: z.number().int().min(0).max(10_000),
    maxPerDay: z.number().int().min(1).max(10_000),
    startedOn: z.iso.date().optional(),
  })
  .refine((w) => w.maxPerDay >= w.startPerDay, { message: 'maxPerDay must be >= startPerDay', path: ['maxPerDay'] });

export const pool = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 letters, digits, _ . -');

/** A sender's display name: it goes into the From header, so no line break or control character. */
export const senderName = z
  .string()
  .max(200)
  .regex(/\S/, 'must not be blank')
  .trim()
  .superRefine((v, ctx) => {
    const problem = headerProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: `${problem}: it goes into the From header` });
  });

/** Provider account names are at most 100 characters (core/schemas/providers.ts). */
export const providerName = nonBlank(100);

/**
 * Where the mailbox's own inbox is read (replies, auto-replies, bounces): an
 * IMAP server. The password is sealed at rest like provider credentials and
 * never shown again. `tls`: implicit TLS (993); false connects in plain text
 * and upgrades with STARTTLS when the server offers it.
 */
// eslint-disable-next-line no-control-regex -- they go into an IMAP LOGIN command: no line break, no NUL
const NO_LINE_BREAK_OR_NUL = /^[^\r\n\u0000]*$/;
export const imapSettings = z.strictObject({
  host: z
    .string()
    .trim()
    .min(1)
    .max(253)
    .regex(/^[A-Za-z0-9.:[\]_-]+$/, 'must be a host name or an IP address'),
  port: z.number().int().min(1).max(65535).default(993),
  tls: z.boolean().default(true),
  user: z.string().min(1).max(320).regex(NO_LINE_BREAK_OR_NUL, 'may not hold a line break or NUL'),
  password: z.string().min(1).max(1024).regex(NO_LINE_BREAK_OR_NUL, 'may not hold a line break or NUL'),
});
export type ImapSettings = z.infer<typeof imapSettings>;

export const mailboxInput = z.strictObject({
  address: email,
  displayName: senderName.optional(),
  pool: pool.optional(),
  providers: z.array(providerName).min(1).max(8),
  timezone: timezone.optional(),
  window: sendingWindow.optional(),
  limits: mailboxLimits.optional(),
  warmup: warmupInput.nullable().optional(),
  imap: imapSettings.optional(),
});
export type MailboxInput = z.infer<typeof mailboxInput>;

/**
 * PATCH /v1/mailboxes/:id: any of a mailbox's settings, each validated as on
 * import. `limits` are merged field by field onto the current ones; `warmup`
 * replaces the ramp (null: fully warmed up; without startedOn the current
 * start date stays); `imap` null removes the inbox settings.
 */
export const patchMailboxBody = z.strictObject({
  displayName: senderName.nullable().optional(),
  pool: pool.optional(),
  providers: z.array(providerName).min(1).max(8).optional(),
  timezone: timezone.optional(),
  window: sendingWindow.optional(),
  limits: mailboxLimits.optional(),
  warmup: warmupInput.nullable().optional(),
  imap: imapSettings.nullable().optional(),
});
export type PatchMailboxBody = z.infer<typeof patchMailboxBody>;

/** The pause reasons a caller may take away by hand (POST /v1/mailboxes/:id/resume); dns and domain end with the domain. */
export const RESUMABLE_KINDS = ['user', 'misconfigured', 'rest'] as const;
export const resumeMailboxBody = z.strictObject({ kind: z.enum(RESUMABLE_KINDS).default('user') }).nullish();

export const MAX_MAILBOXES_PER_IMPORT = 10_000;
/** Rows are validated one by one so a partly bad batch still imports its good rows. */
export const importMailboxesBody = z.strictObject({
  mailboxes: z.array(z.unknown()).min(1).max(MAX_MAILBOXES_PER_IMPORT),
});

export const MAILBOX_STATUSES = ['active', 'paused', 'disabled'] as const;
export const listMailboxesQuery = z.strictObject({
  pool: pool.optional(),
  status: z.enum(MAILBOX_STATUSES).optional(),
  ...cursorQuery,
});
