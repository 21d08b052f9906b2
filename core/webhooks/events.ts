/**
 * Provider event payloads mapped onto one shape, pure. Each provider names
 * its message differently; both handles are kept so a send is found by the
 * provider's message id or by our correlation id (sends.id), whichever the
 * event carries.
 */
export type ProviderKind = 'ses' | 'sendgrid' | 'mailgun';
export type FeedbackType = 'delivered' | 'bounced' | 'soft_bounced' | 'complained' | 'opened' | 'clicked' | 'unsubscribed';

/** What the event names about the account it came from (null: not named); see event-match.ts. */
export interface EventAccount {
  /** Mailgun: the sending domain (`domain.name`), lower-cased. */
  domain: string | null;
  /** SES: the region of the sending identity (`mail.sourceArn`). */
  region: string | null;
}

export interface FeedbackEvent {
  provider: ProviderKind;
  /** Unique per provider event: the de-duplication key (with the provider). */
  eventId: string;
  type: FeedbackType;
  providerMessageId: string | null;
  correlationId: string | null;
  /** Lower-cased recipient address, when the event names it. */
  recipient: string | null;
  /** What the event names about the account that sent the mail (checked against the send's account). */
  account?: EventAccount;
  occurredAt: Date;
  /** The provider's own payload for this event (stored in events.payload). */
  payload: unknown;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | null => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : null);
const s = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const lower = (v: unknown): string | null => s(v)?.trim().toLowerCase() ?? null;

function date(v: unknown, fallback: Date): Date {
  if (typeof v === 'number' && Number.isFinite(v)) return new Date(v * 1000);
  if (typeof v === 'string') {
    const d = new Date(v);
    if (!Number.isNaN(d.getTime())) return d;
  }
  return fallback;
}

/** Our correlation ids are UUIDs; anything else is not ours. */
export function correlationIdOf(v: unknown): string | null {
  const id = Array.isArray(v) ? v[0] : v;
  return typeof id === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id) ? id.toLowerCase() : null;
}

/** The region of an SES identity ARN (`arn:aws:ses:<region>:<account>:identity/<name>`). */
export function sesRegionOf(sourceArn: unknown): string | null {
  const parts = s(sourceArn)?.split(':');
  return parts && parts.length >= 6 && parts[0] === 'arn' && parts[2] === 'ses' && parts[3] ? parts[3].toLowerCase() : null;
}

/**
 * An SES notification (the SNS Message, parsed): the "notifications" format
 * (notificationType) or event publishing (eventType). One event per
 * recipient it names; the key is the SNS MessageId (SNS keeps it on retries).
 */
export function sesEvents(snsMessageId: string, message: unknown, receivedAt: Date): FeedbackEvent[] {
  const m = obj(message);
  if (!m) return [];
  const kind = s(m.notificationType) ?? s(m.eventType);
  const mail = obj(m.mail) ?? {};
  const tags = obj(mail.tags) ?? {};
  const base = {
    provider: 'ses' as const,
    providerMessageId: s(mail.messageId),
    correlationId: correlationIdOf(tags.correlation_id),
    account: { domain: null, region: sesRegionOf(mail.sourceArn) },
    payload: m,
  };
  const one = (type: FeedbackType, recipients: unknown, at: unknown): FeedbackEvent[] => {
    const list = Array.isArray(recipients) ? recipients : [null];
    return list.map((r, i) => ({
      ...base,
      type,
      eventId: `${snsMessageId}:${i}`,
      recipient: lower(typeof r === 'string' ? r : obj(r)?.emailAddress),
      occurredAt: date(at, receivedAt),
    }));
  };
  switch (kind) {
    case 'Delivery': {
      const d = obj(m.delivery) ?? {};
      return one('delivered', d.recipients ?? mail.destination, d.timestamp);
    }
    case 'Bounce': {
      const b = obj(m.bounce) ?? {};
      // Permanent is a hard bounce; Transient and Undetermined are soft.
      return one(b.bounceType === 'Permanent' ? 'bounced' : 'soft_bounced', b.bouncedRecipients, b.timestamp);
    }
    case 'Complaint': {
      const c = obj(m.complaint) ?? {};
      return one('complained', c.complainedRecipients, c.timestamp);
    }
    case 'Open':
      return one('opened', mail.destination, obj(m.open)?.timestamp);
    case 'Click':
      return one('clicked', mail.destination, obj(m.click)?.timestamp);
    case 'Subscription': {
      // SES subscription management: an unsubscribe from all topics.
      const sub = obj(m.subscription) ?? {};
      return sub.newTopicPreferences && obj(sub.newTopicPreferences)?.unsubscribeAll === true
        ? one('unsubscribed', mail.destination, sub.timestamp)
        : [];
    }
    default:
      return []; // Send, Reject, DeliveryDelay, Rendering Failure: nothing to settle
  }
}

/** SendGrid's x-message-id is the part of sg_message_id before the first dot. */
export function sendgridMessageId(sgMessageId: unknown): string | null {
  const v = s(sgMessageId);
  return v ? v.split('.')[0]! : null;
}

/** One SendGrid event webhook batch (a JSON array). */
export function sendgridEvents(batch: unknown, receivedAt: Date): FeedbackEvent[] {
  if (!Array.isArray(batch)) return [];
  const out: FeedbackEvent[] = [];
  for (const item of batch) {
    const e = obj(item);
    const id = e && s(e.sg_event_id);
    if (!e || !id) continue;
    let type: FeedbackType | null;
    switch (e.event) {
      case 'delivered': type = 'delivered'; break;
      case 'bounce': type = e.type === 'blocked' ? 'soft_bounced' : 'bounced'; break;
      case 'spamreport': type = 'complained'; break;
      case 'open': type = 'opened'; break;
      case 'click': type = 'clicked'; break;
      case 'unsubscribe':
      case 'group_unsubscribe': type = 'unsubscribed'; break;
      default: type = null; // processed, deferred, dropped: nothing to settle
    }
    if (!type) continue;
    out.push({
      provider: 'sendgrid',
      eventId: id,
      type,
      providerMessageId: sendgridMessageId(e.sg_message_id),
      correlationId: correlationIdOf(e.correlation_id),
      recipient: lower(e.email),
      occurredAt: date(e.timestamp, receivedAt),
      payload: e,
    });
  }
  return out;
}

/** A Mailgun webhook's `event-data`. */
export function mailgunEvent(eventData: unknown, receivedAt: Date): FeedbackEvent | null {
  const e = obj(eventData);
  const id = e && s(e.id);
  if (!e || !id) return null;
  let type: FeedbackType | null;
  switch (e.event) {
    case 'delivered': type = 'delivered'; break;
    case 'failed': type = e.severity === 'permanent' ? 'bounced' : 'soft_bounced'; break;
    case 'complained': type = 'complained'; break;
    case 'opened': type = 'opened'; break;
    case 'clicked': type = 'clicked'; break;
    case 'unsubscribed': type = 'unsubscribed'; break;
    default: type = null;
  }
  if (!type) return null;
  const headers = obj(obj(e.message)?.headers) ?? {};
  const messageId = s(headers['message-id']);
  return {
    provider: 'mailgun',
    eventId: id,
    type,
    // Mailgun answers a send with "<id@domain>" and reports "id@domain": stored with brackets.
    providerMessageId: messageId ? (messageId.startsWith('<') ? messageId : `<${messageId}>`) : null,
    correlationId: correlationIdOf(obj(e['user-variables'])?.correlation_id),
    recipient: lower(e.recipient),
    // Mailgun names the sending domain (and its account id, which we do not hold) in every event.
    account: { domain: lower(obj(e.domain)?.name), region: null },
    occurredAt: date(e.timestamp, receivedAt),
    payload: e,
  };
}
