/**
 * A raw RFC 5322 message as core/inbound/classify.ts sees it, parsed by
 * mailparser (MIME, encodings, charsets): the top-level headers, the ids it
 * answers, the plain text, and for a DSN its delivery-status part and the
 * returned message's headers.
 */
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import { messageIdsIn, type InboundMail } from '../../core/inbound/classify';

/** Largest message parsed whole: the watcher fetches at most this much of each message. */
export const MAX_PARSED_BYTES = 2 * 1024 * 1024;

function firstAddress(from: AddressObject | AddressObject[] | undefined): string | null {
  const list = Array.isArray(from) ? from : from ? [from] : [];
  for (const o of list) for (const a of o.value) if (a.address) return a.address.trim().toLowerCase();
  return null;
}

/** Header lines (`Name: value`, folded) as unfolded values, first of each name. */
function headerFields(parsed: ParsedMail): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { key, line } of parsed.headerLines) {
    const name = key.toLowerCase();
    if (name in out) continue;
    const colon = line.indexOf(':');
    out[name] = (colon >= 0 ? line.slice(colon + 1) : '').replace(/\r?\n[ \t]+/g, ' ').trim();
  }
  return out;
}

function headerBlock(text: string): string {
  const t = text.replace(/\r\n?/g, '\n');
  const end = t.indexOf('\n\n');
  return end >= 0 ? t.slice(0, end) : t;
}

export async function parseInbound(raw: Buffer): Promise<InboundMail> {
  const parsed = await simpleParser(raw.length > MAX_PARSED_BYTES ? raw.subarray(0, MAX_PARSED_BYTES) : raw, {
    skipHtmlToText: false,
    skipTextToHtml: true,
    skipImageLinks: true,
    skipTextLinks: true,
    // A DSN's message/delivery-status part is kept as an attachment, not folded into the text.
    keepDeliveryStatus: true,
  });
  const headers = headerFields(parsed);
  const ct = parsed.headers.get('content-type') as { value?: string; params?: Record<string, string> } | undefined;
  const contentType = (ct?.value ?? 'text/plain').toLowerCase();
  const reportType = ct?.params?.['report-type']?.toLowerCase() ?? null;
  let deliveryStatus: string | null = null;
  let returnedHeaders: string | null = null;
  for (const a of parsed.attachments) {
    const type = a.contentType.toLowerCase();
    if (deliveryStatus === null && (type === 'message/delivery-status' || type === 'message/global-delivery-status')) {
      deliveryStatus = a.content.toString('utf8');
    } else if (returnedHeaders === null && (type === 'text/rfc822-headers' || type === 'message/rfc822' || type === 'message/global-headers' || type === 'message/global')) {
      returnedHeaders = headerBlock(a.content.toString('utf8'));
    }
  }
  const references = Array.isArray(parsed.references) ? parsed.references.join(' ') : parsed.references;
  const inReplyTo = messageIdsIn(headers['in-reply-to'] ?? parsed.inReplyTo);
  return {
    messageId: messageIdsIn(headers['message-id'] ?? parsed.messageId)[0] ?? null,
    inReplyTo,
    references: messageIdsIn(headers['references'] ?? references).filter((id) => !inReplyTo.includes(id)),
    from: firstAddress(parsed.from),
    subject: parsed.subject ?? '',
    headers,
    contentType,
    reportType,
    deliveryStatus,
    returnedHeaders,
    text: parsed.text ?? '',
  };
}
