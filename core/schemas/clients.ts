import { z } from 'zod';
import { timezone, nonBlank } from './common';

export const createClientBody = z.strictObject({
  name: nonBlank(200),
  timezone: timezone.optional(),
  physicalAddress: nonBlank(500).optional(),
});

export const clientCreated = z.object({ id: z.uuid(), apiKey: z.string() });

/** Fastify hands a missing body over as null: a key with no options is a POST with no body. */
export const createKeyBody = z
  .strictObject({
    /** When the key stops working (401 from then on); must be in the future. Unset: until revoked. */
    expiresAt: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with an offset, e.g. 2027-01-01T00:00:00Z' }).optional(),
    /** A name to tell keys apart, e.g. "ci deploys". */
    label: nonBlank(100).optional(),
  })
  .nullish();

export const keyParams = z.strictObject({ id: z.uuid(), keyId: z.uuid() });

/** A key as listed: never the key itself nor its hash. */
export const keyView = z.object({
  id: z.uuid(),
  /** The key's first characters, to tell keys apart. */
  prefix: z.string(),
  label: z.string().nullable(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  /** Written at most once a minute per key. */
  lastUsedAt: z.string().nullable(),
});

export const keyList = z.object({ items: z.array(keyView) });

/** A new key: the only answer that carries the key (it is stored hashed). */
export const keyCreated = keyView.omit({ revokedAt: true, lastUsedAt: true }).extend({ apiKey: z.string() });
