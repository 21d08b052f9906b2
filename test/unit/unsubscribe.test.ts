import { randomBytes } from 'node:crypto';
import { listUnsubscribeHeaders, makeUnsubscribeToken, readUnsubscribeToken, unsubscribeKey } from '../../core/unsubscribe';

describe('unsubscribe tokens', () => {
  const key = unsubscribeKey(randomBytes(32).toString('base64'));

  it('round-trips the client and the lead, and carries no address', () => {
    const t = makeUnsubscribeToken(key, 'client-1', 'lead-9');
    expect(readUnsubscribeToken(key, t)).toEqual({ clientId: 'client-1', leadId: 'lead-9' });
    expect(Buffer.from(t.split('.')[0]!, 'base64url').toString()).not.toContain('@');
  });

  it('rejects a tampered payload, a wrong key and garbage', () => {
    const t = makeUnsubscribeToken(key, 'client-1', 'lead-9');
    const [, mac] = t.split('.');
    const forged = `${Buffer.from(JSON.stringify(['client-2', 'lead-9'])).toString('base64url')}.${mac}`;
    expect(readUnsubscribeToken(key, forged)).toBeNull();
    expect(readUnsubscribeToken(unsubscribeKey(randomBytes(32).toString('base64')), t)).toBeNull();
    expect(readUnsubscribeToken(key, 'nonsense')).toBeNull();
    expect(readUnsubscribeToken(key, '.')).toBeNull();
  });

  it('builds the RFC 8058 headers', () => {
    expect(listUnsubscribeHeaders('https://mail.example.com/', 'abc.def')).toEqual({
      'List-Unsubscribe': '<https://mail.example.com/u/abc.def>',
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    });
  });
});
