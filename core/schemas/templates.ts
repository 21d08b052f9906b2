import { z } from 'zod';
import { leadInput } from './campaigns';
import { email, nonBlank } from './common';
import { senderName } from './mailboxes';

export const createTemplateBody = z.strictObject({
  name: nonBlank(200),
  subject: z.string().min(1).max(998),
  text: z.string().min(1).max(100_000),
  html: z.string().min(1).max(500_000).optional(),
  /**
   * Extra placeholder names the template may use (custom CSV columns), on top
   * of the standard lead, sender and unsubscribe fields. Used for validation
   * and echoed back; not stored.
   */
  variables: z.array(z.string().max(64)).max(200).optional(),
});
export type CreateTemplateBody = z.infer<typeof createTemplateBody>;

export const previewTemplateBody = z.strictObject({
  lead: leadInput.extend({
    email,
    /** The lead's id, when it exists: the preview then picks the same spintax variants its sends will. */
    id: z.uuid().optional(),
  }),
  sender: z.strictObject({ name: senderName.optional(), email: email.optional() }).optional(),
});
export type PreviewTemplateBody = z.infer<typeof previewTemplateBody>;

/** What the unsubscribe link renders as in a preview (never a working token). */
export const PREVIEW_UNSUBSCRIBE_URL = 'https://example.invalid/u/preview';
