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

/**
 * An edit: any of the fields (html null drops the HTML body); the result is a
 * new version, checked by the same grammar as a create. `variables` names the
 * custom placeholders the edited fields add (those the current version uses
 * stay known).
 */
export const patchTemplateBody = z
  .strictObject({
    name: createTemplateBody.shape.name.optional(),
    subject: createTemplateBody.shape.subject.optional(),
    text: createTemplateBody.shape.text.optional(),
    html: z.string().min(1).max(500_000).nullable().optional(),
    variables: createTemplateBody.shape.variables,
  })
  .refine((b) => ['name', 'subject', 'text', 'html'].some((k) => k in b), { message: 'give at least one of name, subject, text, html' })
  .meta({ minProperties: 1 });
export type PatchTemplateBody = z.infer<typeof patchTemplateBody>;

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
