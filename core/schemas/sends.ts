import { z } from 'zod';

/**
 * A send's status (sends.status): pending → sending → sent | failed | unknown, then delivered | bounced | complained from feedback;
 * dry_run: a dry run recorded it, with its rendered message, and no provider was called.
 */
export const SEND_STATUSES = ['pending', 'sending', 'sent', 'failed', 'unknown', 'bounced', 'complained', 'delivered', 'dry_run'] as const;
export const sendStatus = z.enum(SEND_STATUSES);

/** One send as the lists show it. */
export const sendView = z.object({
  id: z.string(),
  clientId: z.string(),
  campaignId: z.string(),
  leadId: z.string(),
  leadEmail: z.string(),
  step: z.number().int(),
  mailboxId: z.string(),
  provider: z.string().nullable(),
  providerMessageId: z.string().nullable(),
  status: sendStatus,
  attempts: z.number().int(),
  createdAt: z.string(),
  sentAt: z.string().nullable(),
  updatedAt: z.string(),
});

/** GET /v1/campaigns/:id/sends/:sendId/preview: the message a dry-run send would have sent, as rendered. */
export const sendPreview = z.object({
  sendId: z.string(),
  leadId: z.string(),
  step: z.number().int(),
  status: sendStatus,
  renderedAt: z.string(),
  message: z.object({
    from: z.object({ address: z.string(), name: z.string().optional() }),
    to: z.string(),
    subject: z.string(),
    text: z.string(),
    html: z.string().optional(),
    messageId: z.string(),
    inReplyTo: z.string().optional(),
    references: z.array(z.string()).optional(),
    headers: z.record(z.string(), z.string()),
  }),
});
