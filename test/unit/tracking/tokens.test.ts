import { createHmac, hkdfSync, randomBytes, randomUUID } from 'node:crypto';
import { signPayload, tokenKey, verifiedPayload } from '../../../core/signed-token';
import { makeTrackingToken, MAX_TRACKED_LINKS, readTrackingToken, trackingKey } from '../../../core/tracking/token';
import { makeUnsubscribeToken, readUnsubscribeToken, unsubscribeKey } from '../../../core/unsubscribe';

const root = randomBytes(32).toString('base64');

describe('signed tokens (core/signed-token.ts), shared by unsubscribe and tracking links', () => {
  it('unsubscribe links mailed before the shared module still open: same key derivation, same format', () => {
    // The algorithm of core/unsubscribe.ts before it moved onto core/signed-token.ts, written out.
    const oldKey = Buffer.from(hkdfSync('sha256', Buffer.from(root, 'base64'), Buffer.alloc(0), 'outreach/unsubscribe/v1', 32));
    const payload = Buffer.from(JSON.stringify(['client-1', 'lead-9']), 'utf8').toString('base64url');
    const oldToken = `${payload}.${createHmac('sha256', oldKey).update(payload).digest('base64url')}`;
    expect(readUnsubscribeToken(unsubscribeKey(root), oldToken)).toEqual({ clientId: 'client-1', leadId: 'lead-9' });
    expect(makeUnsubscribeToken(unsubscribeKey(root), 'client-1', 'lead-9')).toBe(oldToken);
  });

  it('a key is per purpose: a token signed for one purpose does not verify for another', () => {
    const t = signPayload(tokenKey(root, 'unsubscribe'), 'AAAA');
    expect(verifiedPayload(tokenKey(root, 'unsubscribe'), t)).toBe('AAAA');
    expect(verifiedPayload(tokenKey(root, 'tracking'), t)).toBeNull();
  });

  it('refuses garbage, a missing or extra part, and a changed MAC', () => {
    const key = tokenKey(root, 'x');
    const t = signPayload(key, 'AAAA');
    for (const bad of ['', '.', 'AAAA', 'AAAA.', `.${t.split('.')[1]}`, `${t}.x`, `${t.slice(0, -2)}AA`, `B${t.slice(1)}`]) {
      expect([bad, verifiedPayload(key, bad)]).toEqual([bad, null]);
    }
  });
});

describe('open and click tokens', () => {
  const key = trackingKey(root);
  const clientId = randomUUID();
  const sendId = randomUUID();

  it('round-trip the client, the send and the link index, and stay short', () => {
    const open = makeTrackingToken(key, { kind: 'open', clientId, sendId });
    const click = makeTrackingToken(key, { kind: 'click', clientId, sendId, linkIndex: 7 });
    expect(readTrackingToken(key, open, 'open')).toEqual({ kind: 'open', clientId, sendId });
    expect(readTrackingToken(key, click, 'click')).toEqual({ kind: 'click', clientId, sendId, linkIndex: 7 });
    expect(open.length).toBeLessThanOrEqual(100);
    expect(click.length).toBeLessThanOrEqual(100);
  });

  it('an open token is not a click token and the other way round', () => {
    expect(readTrackingToken(key, makeTrackingToken(key, { kind: 'open', clientId, sendId }), 'click')).toBeNull();
    expect(readTrackingToken(key, makeTrackingToken(key, { kind: 'click', clientId, sendId, linkIndex: 0 }), 'open')).toBeNull();
  });

  it('a changed client, send or index, or another key, is refused (the MAC covers all of it)', () => {
    const click = makeTrackingToken(key, { kind: 'click', clientId, sendId, linkIndex: 1 });
    const [payload, mac] = click.split('.') as [string, string];
    const bytes = Buffer.from(payload, 'base64url');
    for (const at of [1, 20, 34]) {
      const forged = Buffer.from(bytes);
      forged[at] ^= 1;
      expect(readTrackingToken(key, `${forged.toString('base64url')}.${mac}`, 'click')).toBeNull();
    }
    expect(readTrackingToken(trackingKey(randomBytes(32).toString('base64')), click, 'click')).toBeNull();
  });

  it('an unsubscribe token (another purpose) is never a tracking token', () => {
    const u = makeUnsubscribeToken(unsubscribeKey(root), clientId, sendId);
    expect(readTrackingToken(key, u, 'open')).toBeNull();
    expect(readTrackingToken(key, u, 'click')).toBeNull();
  });

  it('binds uuids and indexes in range only', () => {
    expect(() => makeTrackingToken(key, { kind: 'open', clientId: 'client-1', sendId })).toThrow();
    expect(() => makeTrackingToken(key, { kind: 'click', clientId, sendId, linkIndex: MAX_TRACKED_LINKS })).toThrow();
    expect(() => makeTrackingToken(key, { kind: 'click', clientId, sendId, linkIndex: -1 })).toThrow();
    // A genuine signature over an out-of-range index (made by hand) is still refused.
    const payload = Buffer.concat([Buffer.from([2]), Buffer.alloc(32, 1), Buffer.from([0xff, 0xff])]).toString('base64url');
    expect(readTrackingToken(key, signPayload(key, payload), 'click')).toBeNull();
  });
});
