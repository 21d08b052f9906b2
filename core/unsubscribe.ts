import { signPayload, tokenKey, verifiedPayload } from './signed-token';

/**
 * Unsubscribe tokens (core/signed-token.ts): the payload names the client and
 * the lead (never the address: links get logged and shared), signed under
 * the key for purpose `unsubscribe`.
 */
export function unsubscribeKey(credentialsKeyBase64: string): Buffer {
  return tokenKey(credentialsKeyBase64, 'unsubscribe');
}

export function makeUnsubscribeToken(key: Buffer, clientId: string, leadId: string): string {
  return signPayload(key, Buffer.from(JSON.stringify([clientId, leadId]), 'utf8').toString('base64url'));
}

export function readUnsubscribeToken(key: Buffer, token: string): { clientId: string; leadId: string } | null {
  const payload = verifiedPayload(key, token);
  if (!payload) return null;
  try {
    const [clientId, leadId] = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as [string, string];
    return typeof clientId === 'string' && typeof leadId === 'string' ? { clientId, leadId } : null;
  } catch {
    return null;
  }
}

/** RFC 8058 one-click headers: an HTTPS link, and the one-line List-Unsubscribe-Post. */
export function listUnsubscribeHeaders(publicBaseUrl: string, token: string): Record<string, string> {
  return {
    'List-Unsubscribe': `<${publicBaseUrl.replace(/\/$/, '')}/u/${token}>`,
    'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
  };
}
