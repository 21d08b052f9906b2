import { z } from 'zod';

/** A send's status (sends.status): pending → sending → sent | failed | unknown, then delivered | bounced | complained from feedback. */
export const SEND_STATUSES = ['pending', 'sending', 'sent', 'failed', 'unknown', 'bounced', 'complained', 'delivered'] as const;
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
