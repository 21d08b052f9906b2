import { matchEventToSend, type CandidateAccount } from '../../core/webhooks/event-match';
import { mailgunEvent, sesEvents } from '../../core/webhooks/events';

const account = (kind: string, config: Record<string, unknown> | (() => never) = {}): CandidateAccount => ({
  kind, config: typeof config === 'function' ? config : () => config,
});
const send = (accounts: CandidateAccount[], over: Partial<Parameters<typeof matchEventToSend>[1]> = {}) => ({
  recipient: 'Ann@Leads.Example.org', providerMessageId: '<m1@mg.example.com>', messageIdHeader: '<s1@send.example.com>', accounts, ...over,
});
const event = (over: Partial<Parameters<typeof matchEventToSend>[0]> = {}): Parameters<typeof matchEventToSend>[0] => ({
  provider: 'mailgun', recipient: 'ann@leads.example.org', providerMessageId: '<m1@mg.example.com>', account: { domain: 'mg.example.com', region: null }, ...over,
});

describe('matchEventToSend (does a provider event fit the send it names)', () => {
  const mg = account('mailgun', { domain: 'MG.example.com' });

  it('fits: same provider, account, recipient (any case) and message id (the provider\'s or our Message-ID)', () => {
    expect(matchEventToSend(event(), send([mg]))).toEqual({ ok: true });
    expect(matchEventToSend(event({ providerMessageId: '<s1@send.example.com>' }), send([mg]))).toEqual({ ok: true });
    // An event that names no account or message id is judged on what it names.
    expect(matchEventToSend(event({ account: undefined, providerMessageId: null }), send([mg]))).toEqual({ ok: true });
    // A send without a recorded message id (its outcome unknown) is judged without one.
    expect(matchEventToSend(event({ providerMessageId: '<other@mg.example.com>' }), send([mg], { providerMessageId: null, messageIdHeader: null }))).toEqual({ ok: true });
  });

  it('refuses another provider, another account, another recipient, another message id', () => {
    expect(matchEventToSend(event(), send([account('sendgrid')]))).toEqual({ ok: false, reason: 'provider' });
    expect(matchEventToSend(event({ account: { domain: 'mg.other.example', region: null } }), send([mg]))).toEqual({ ok: false, reason: 'account' });
    expect(matchEventToSend(event({ recipient: 'eve@attacker.example' }), send([mg]))).toEqual({ ok: false, reason: 'recipient' });
    expect(matchEventToSend(event({ recipient: null }), send([mg]))).toEqual({ ok: false, reason: 'recipient' });
    expect(matchEventToSend(event({ providerMessageId: '<m2@mg.example.com>' }), send([mg]))).toEqual({ ok: false, reason: 'message_id' });
    expect(matchEventToSend(event(), send([]))).toEqual({ ok: false, reason: 'provider' });
  });

  it('an SMTP account (possibly the provider\'s relay) fits only an event carrying the send\'s own message id', () => {
    expect(matchEventToSend(event({ account: undefined }), send([account('smtp')]))).toEqual({ ok: true });
    expect(matchEventToSend(event({ providerMessageId: null }), send([account('smtp')]))).toEqual({ ok: false, reason: 'provider' });
  });

  it('settings that do not open cannot vouch for an account the event names; with no recorded account, one of the mailbox\'s must fit', () => {
    const broken = account('mailgun', () => { throw new Error('unknown secret format'); });
    expect(matchEventToSend(event(), send([broken]))).toEqual({ ok: false, reason: 'account' });
    expect(matchEventToSend(event(), send([account('sendgrid'), account('mailgun', { domain: 'mg.other.example' }), mg]))).toEqual({ ok: true });
    expect(matchEventToSend(event(), send([account('sendgrid'), account('mailgun', { domain: 'mg.other.example' })]))).toEqual({ ok: false, reason: 'account' });
  });

  it('reads the account from the events: Mailgun\'s domain.name, the region of SES\'s sourceArn', () => {
    const mge = mailgunEvent({ id: 'e1', event: 'delivered', recipient: 'a@b.example', domain: { name: 'MG.Example.com' } }, new Date());
    expect(mge?.account).toEqual({ domain: 'mg.example.com', region: null });
    const [ses] = sesEvents('sns-1', { eventType: 'Delivery', mail: { messageId: 'x', sourceArn: 'arn:aws:ses:eu-west-1:123456789012:identity/send.example.com' }, delivery: { recipients: ['a@b.example'] } }, new Date());
    expect(ses?.account).toEqual({ domain: null, region: 'eu-west-1' });
    const [noArn] = sesEvents('sns-2', { eventType: 'Delivery', mail: { messageId: 'x', sourceArn: 'not-an-arn' }, delivery: { recipients: ['a@b.example'] } }, new Date());
    expect(noArn?.account).toEqual({ domain: null, region: null });
  });
});
