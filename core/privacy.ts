import { createHmac } from 'node:crypto';
import { tokenKey } from './signed-token';

/**
 * The key erased addresses are hashed under (README "Privacy"): PRIVACY_HASH_KEY
 * when set, else one derived from CREDENTIALS_KEY for this purpose alone. Null
 * when neither is configured (the API and the worker refuse to start without
 * CREDENTIALS_KEY, so only a bare test app meets that).
 */
export function privacyHashKey(config: { PRIVACY_HASH_KEY?: string; CREDENTIALS_KEY?: string }): Buffer | null {
  if (config.PRIVACY_HASH_KEY) return Buffer.from(config.PRIVACY_HASH_KEY, 'base64');
  if (config.CREDENTIALS_KEY) return tokenKey(config.CREDENTIALS_KEY, 'privacy-hash');
  return null;
}

/** The normal form every address is compared in. */
export const normalEmail = (email: string): string => email.trim().toLowerCase();

/** HMAC-SHA256 of the normalised address, hex: what suppression_hashes and privacy_requests hold. */
export function hashEmail(key: Buffer, email: string): string {
  return createHmac('sha256', key).update(normalEmail(email), 'utf8').digest('hex');
}
