import { z } from 'zod';
import { cursorQuery } from './common';

export const REPLY_KINDS = ['reply', 'auto_reply'] as const;

export const listRepliesQuery = z.strictObject({
  kind: z.enum(REPLY_KINDS).optional(),
  ...cursorQuery,
});

/** One inbound message matched to a send of the campaign. */
export const replyView = z.object({
  id: z.string(),
  kind: z.enum(REPLY_KINDS),
  leadId: z.string(),
  sendId: z.string().nullable(),
  /** The step answered, from 1. */
  step: z.number().int().nullable(),
  mailboxId: z.string().nullable(),
  source: z.enum(['imap', 'ses', 'mailgun', 'sendgrid']),
  /** How the message was matched to its send: its In-Reply-To/References, or its sender. */
  matchedBy: z.enum(['message_id', 'sender']),
  from: z.string(),
  subject: z.string().nullable(),
  messageId: z.string().nullable(),
  /** The plain text, at most 64 KiB of it. */
  text: z.string().nullable(),
  receivedAt: z.string(),
});

export const replyPage = z.object({ items: z.array(replyView), nextCursor: z.string().nullable() });
