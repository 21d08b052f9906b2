import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Temporal payload encryption: every payload (workflow and activity inputs
 * and results, signals, updates, queries, memos) leaves the process as
 * AES-256-GCM ciphertext of the original Payload protobuf, so lead addresses
 * and template variables never reach Temporal's history in clear. Failure
 * messages and stack traces are payloads too (core/failure-converter.ts, set
 * by dataConverterFrom), so a provider's error quoting a recipient is sealed
 * like the rest.
 *
 * The key id (a fingerprint of the key) travels in the payload's metadata:
 * rotate by making a new key current and keeping the old ones for decoding
 * (TEMPORAL_PAYLOAD_KEY, TEMPORAL_PAYLOAD_OLD_KEYS). A payload sealed with a
 * key this process does not hold, or altered after sealing, fails loudly.
 */
export const ENCODING = 'binary/encrypted';
export const METADATA_KEY_ID = 'encryption-key-id';
export const METADATA_CIPHER = 'encryption-cipher';
const CIPHER = 'AES-256-GCM';
const IV_BYTES = 12;
const TAG_BYTES = 16;

const { Payload: PayloadProto } = temporal.api.common.v1;
const utf8 = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));
const text = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('utf8') : '');

/** The id a key is known by: the first 16 hex digits of its SHA-256 (no secret in it). */
export function payloadKeyId(key: Buffer): string {
  return 'k' + createHash('sha256').update(key).digest('hex').slice(0, 16);
}

function parseKey(base64: string): Buffer {
  const key = Buffer.from(base64.trim(), 'base64');
  if (key.length !== 32) throw new Error('a payload key must be 32 bytes, base64-encoded');
  return key;
}

export class PayloadDecryptError extends Error {
  override name = 'PayloadDecryptError';
}

export class AesGcmPayloadCodec implements PayloadCodec {
  private readonly keys = new Map<string, Buffer>();
  readonly currentKeyId: string;

  /** `current` encrypts; `current` and every `previous` key decrypt. Keys are 32 bytes, base64. */
  constructor(current: string, previous: string[] = []) {
    const key = parseKey(current);
    this.currentKeyId = payloadKeyId(key);
    this.keys.set(this.currentKeyId, key);
    for (const old of previous) {
      const k = parseKey(old);
      this.keys.set(payloadKeyId(k), k);
    }
  }

  get keyIds(): string[] {
    return [...this.keys.keys()];
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const key = this.keys.get(this.currentKeyId)!;
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const plain = PayloadProto.encode(payload).finish();
      const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: { encoding: utf8(ENCODING), [METADATA_KEY_ID]: utf8(this.currentKeyId), [METADATA_CIPHER]: utf8(CIPHER) },
        data: new Uint8Array(sealed),
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (text(payload.metadata?.encoding) !== ENCODING) return payload; // written before encryption was on
      const keyId = text(payload.metadata?.[METADATA_KEY_ID]);
      const key = this.keys.get(keyId);
      if (!key) {
        throw new PayloadDecryptError(
          `payload was encrypted with key ${keyId || '(none)'}, which this process does not hold (it has ${this.keyIds.join(', ')}); ` +
            'set TEMPORAL_PAYLOAD_KEY / TEMPORAL_PAYLOAD_OLD_KEYS',
        );
      }
      const data = Buffer.from(payload.data ?? new Uint8Array());
      if (data.length < IV_BYTES + TAG_BYTES) throw new PayloadDecryptError(`encrypted payload (key ${keyId}) is truncated`);
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
        decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
        const plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
        return PayloadProto.decode(plain);
      } catch (err) {
        throw new PayloadDecryptError(`payload (key ${keyId}) does not decrypt: wrong key material or altered data (${(err as Error).message})`);
      }
    });
  }
}

/** The codec for this configuration, or null when no payload key is set (payloads stay plain JSON). */
export function payloadCodecFrom(config: { TEMPORAL_PAYLOAD_KEY?: string; TEMPORAL_PAYLOAD_OLD_KEYS?: string[] }): AesGcmPayloadCodec | null {
  if (!config.TEMPORAL_PAYLOAD_KEY) return null;
  return new AesGcmPayloadCodec(config.TEMPORAL_PAYLOAD_KEY, config.TEMPORAL_PAYLOAD_OLD_KEYS ?? []);
}

/**
 * The failure converter's module (core/failure-converter.ts), by path: a
 * worker bundles it into its workflow code, and a client loads it.
 */
export const FAILURE_CONVERTER_PATH = require.resolve('./failure-converter');

/**
 * For every Client, Worker and workflow bundle: `{ dataConverter }` with the
 * codec and the failure converter that moves failure messages and stack
 * traces into a payload the codec seals; nothing when no key is set
 * (payloads and failures stay in clear).
 */
export function dataConverterFrom(config: Parameters<typeof payloadCodecFrom>[0]): { dataConverter?: DataConverter } {
  const codec = payloadCodecFrom(config);
  return codec ? { dataConverter: { payloadCodecs: [codec], failureConverterPath: FAILURE_CONVERTER_PATH } } : {};
}

/** The JSON shape the Temporal Web UI and CLI send to a codec server: metadata values and data in base64. */
export interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

export function payloadFromJson(p: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))])),
    data: new Uint8Array(Buffer.from(p.data ?? '', 'base64')),
  };
}

export function payloadToJson(p: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')])),
    data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
  };
}
