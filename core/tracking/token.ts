/**
 * Open and click tokens (core/signed-token.ts, purpose `tracking`): the
 * payload binds the client, the send and, for a click, the link's index in
 * the sent message, packed in 33 or 35 bytes so a tracked link stays short.
 * A token never carries a URL: a click is redirected to the link the send
 * stored under that index, never to anything the request names.
 */
import { signPayload, tokenKey, verifiedPayload } from '../signed-token';

export type TrackingClaims =
  | { kind: 'open'; clientId: string; sendId: string }
  | { kind: 'click'; clientId: string; sendId: string; linkIndex: number };

/** At most this many links of one message are tracked (the index is two bytes; more links stay as they are). */
export const MAX_TRACKED_LINKS = 200;

const KIND_OPEN = 1;
const KIND_CLICK = 2;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function trackingKey(credentialsKeyBase64: string): Buffer {
  return tokenKey(credentialsKeyBase64, 'tracking');
}

const uuidBytes = (id: string): Buffer => {
  if (!UUID.test(id)) throw new Error('tracking tokens bind uuids');
  return Buffer.from(id.replace(/-/g, ''), 'hex');
};

const uuidOf = (b: Buffer): string => {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

export function makeTrackingToken(key: Buffer, claims: TrackingClaims): string {
  const parts = [Buffer.from([claims.kind === 'open' ? KIND_OPEN : KIND_CLICK]), uuidBytes(claims.clientId), uuidBytes(claims.sendId)];
  if (claims.kind === 'click') {
    if (!Number.isInteger(claims.linkIndex) || claims.linkIndex < 0 || claims.linkIndex >= MAX_TRACKED_LINKS) throw new Error('link index out of range');
    const idx = Buffer.alloc(2);
    idx.writeUInt16BE(claims.linkIndex);
    parts.push(idx);
  }
  return signPayload(key, Buffer.concat(parts).toString('base64url'));
}

/** The claims of a genuine token of the expected kind, else null (forged, tampered, truncated, another purpose's key). */
export function readTrackingToken(key: Buffer, token: string, kind: TrackingClaims['kind']): TrackingClaims | null {
  const payload = verifiedPayload(key, token);
  if (!payload) return null;
  const b = Buffer.from(payload, 'base64url');
  const clientId = () => uuidOf(b.subarray(1, 17));
  const sendId = () => uuidOf(b.subarray(17, 33));
  if (kind === 'open' && b.length === 33 && b[0] === KIND_OPEN) return { kind, clientId: clientId(), sendId: sendId() };
  if (kind === 'click' && b.length === 35 && b[0] === KIND_CLICK) {
    const linkIndex = b.readUInt16BE(33);
    return linkIndex < MAX_TRACKED_LINKS ? { kind, clientId: clientId(), sendId: sendId(), linkIndex } : null;
  }
  return null;
}
