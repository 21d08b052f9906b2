import type { OutgoingMessage } from './providers/types';

/** What a dry-run send keeps of the message it would have sent (GET /v1/campaigns/:id/sends/:sendId/preview). */
export function previewOf(m: OutgoingMessage): Record<string, unknown> {
  return {
    from: m.from,
    to: m.to,
    subject: m.subject,
    text: m.text,
    ...(m.html !== undefined ? { html: m.html } : {}),
    messageId: m.messageId,
    ...(m.inReplyTo !== undefined ? { inReplyTo: m.inReplyTo } : {}),
    ...(m.references !== undefined ? { references: m.references } : {}),
    headers: m.headers,
  };
}
