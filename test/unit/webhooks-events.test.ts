import { mailgunEvent, sendgridEvents, sesEvents } from '../../core/webhooks/events';
import { leadStatusAfter, mailboxOutcomeOf, sendStatusAfter, suppressionReasonOf, type SendStatus } from '../../core/webhooks/feedback-rules';
import { mailgunEventData, sendgridEvent, sesEvent } from '../fakes/webhook-signers';

const NOW = new Date('2026-03-04T12:00:00Z');
const CID = '0190a4b2-1c3d-7e4f-8a9b-0c1d2e3f4a5b';

describe('provider events onto one shape', () => {
  it('SES: permanent bounce is hard, transient is soft; complaint, delivery; ids from mail and tags', () => {
    const [hard] = sesEvents('sns-1', sesEvent('Bounce', 'ses-msg-1', 'Ann@X.org', { correlationId: CID }), NOW);
    expect(hard).toMatchObject({ provider: 'ses', eventId: 'sns-1:0', type: 'bounced', providerMessageId: 'ses-msg-1', correlationId: CID, recipient: 'ann@x.org' });
    expect(sesEvents('sns-2', sesEvent('Bounce', 'm', 'a@x.org', { permanent: false }), NOW)[0]!.type).toBe('soft_bounced');
    expect(sesEvents('sns-3', sesEvent('Complaint', 'm', 'a@x.org'), NOW)[0]!.type).toBe('complained');
    expect(sesEvents('sns-4', sesEvent('Delivery', 'm', 'a@x.org'), NOW)[0]).toMatchObject({ type: 'delivered', correlationId: null });
    // The older notifications format names the kind notificationType.
    const legacy = { ...sesEvent('Bounce', 'm2', 'b@x.org'), eventType: undefined, notificationType: 'Bounce' };
    expect(sesEvents('sns-5', legacy, NOW)[0]).toMatchObject({ type: 'bounced', providerMessageId: 'm2' });
    expect(sesEvents('sns-6', { eventType: 'Send', mail: { messageId: 'm' } }, NOW)).toEqual([]);
    expect(sesEvents('sns-7', 'garbage', NOW)).toEqual([]);
  });

  it('SendGrid: x-message-id from sg_message_id, correlation id from custom args, unknown kinds dropped', () => {
    const events = sendgridEvents([
      sendgridEvent('bounce', 'XMSG1', 'a@x.org', { correlation_id: CID }),
      sendgridEvent('bounce', 'XMSG2', 'b@x.org', { type: 'blocked' }),
      sendgridEvent('spamreport', 'XMSG3', 'c@x.org'),
      { event: 'processed', sg_event_id: 'p1', sg_message_id: 'X.y' },
      { event: 'delivered' }, // no event id: dropped
    ], NOW);
    expect(events.map((e) => [e.type, e.providerMessageId])).toEqual([['bounced', 'XMSG1'], ['soft_bounced', 'XMSG2'], ['complained', 'XMSG3']]);
    expect(events[0]!.correlationId).toBe(CID);
    expect(sendgridEvents({ not: 'an array' }, NOW)).toEqual([]);
  });

  it('Mailgun: failed/permanent is a hard bounce; message id gets its brackets back', () => {
    const e = mailgunEvent(mailgunEventData('failed', '<20260304.1@mg.example>', 'A@x.org', { correlationId: CID }), NOW);
    expect(e).toMatchObject({ type: 'bounced', providerMessageId: '<20260304.1@mg.example>', correlationId: CID, recipient: 'a@x.org' });
    expect(mailgunEvent(mailgunEventData('failed', 'x@y', 'a@x.org', { permanent: false }), NOW)!.type).toBe('soft_bounced');
    expect(mailgunEvent({ id: 'x', event: 'accepted' }, NOW)).toBeNull();
    expect(mailgunEvent({ ...mailgunEventData('complained', 'x@y', 'a@x.org'), 'user-variables': { correlation_id: 'not-a-uuid' } }, NOW)!.correlationId).toBeNull();
  });
});

describe('what an event does', () => {
  it('settles sends left unknown or sending, and only moves verdicts forward', () => {
    const cases: [SendStatus, Parameters<typeof sendStatusAfter>[1], SendStatus | null][] = [
      ['unknown', 'delivered', 'delivered'],
      ['unknown', 'soft_bounced', 'sent'],
      ['unknown', 'bounced', 'bounced'],
      ['sending', 'opened', 'delivered'],
      ['sent', 'delivered', 'delivered'],
      ['delivered', 'complained', 'complained'],
      ['bounced', 'complained', null],
      ['bounced', 'delivered', null],
      ['complained', 'delivered', null],
      ['delivered', 'delivered', null],
      ['pending', 'bounced', null],
      ['failed', 'delivered', null],
    ];
    for (const [from, type, to] of cases) expect([from, type, sendStatusAfter(from, type)]).toEqual([from, type, to]);
  });

  it('hard bounces, complaints and unsubscribes suppress and stop the lead; only bounces and complaints reach the mailbox', () => {
    expect(['bounced', 'complained', 'unsubscribed', 'soft_bounced', 'opened'].map((t) => suppressionReasonOf(t as never))).toEqual(['hard_bounce', 'complaint', 'unsubscribed', null, null]);
    expect(leadStatusAfter('unsubscribed')).toBe('unsubscribed');
    expect(leadStatusAfter('soft_bounced')).toBeNull();
    expect(mailboxOutcomeOf('complained')).toBe('complained');
    expect(mailboxOutcomeOf('unsubscribed')).toBeNull();
  });
});
