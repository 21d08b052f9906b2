import { z } from 'zod';
import { timezone, nonBlank } from './common';

/** A host name with an optional port, e.g. track.acme.io: at least two labels of letters, digits and inner hyphens. */
function isHost(v: string): boolean {
  const m = /^([^:]+)(?::(\d{1,5}))?$/.exec(v);
  if (!m || (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65535))) return false;
  const labels = m[1]!.split('.');
  return m[1]!.length <= 253 && labels.length >= 2 && !/^\d+$/.test(labels[labels.length - 1]!)
    && labels.every((l) => l.length <= 63 && /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/.test(l));
}

/**
 * The client's tracking host: a CNAME to the API, where its open pixels and click links point
 * (over PUBLIC_BASE_URL's scheme). Unset: PUBLIC_BASE_URL itself.
 */
export const trackingDomain = z
  .string()
  // Length and pattern are in the OpenAPI document and say it all (253 characters with the port; labels of 63; a
  // letter first in the last label; a port from 1 to 65535): the refinement below then never refuses what they admit.
  .max(253)
  .regex(/^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(:([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?$/, 'must be a host name (a CNAME to the API), with an optional port, e.g. track.acme.io')
  .toLowerCase()
  .refine(isHost, 'must be a host name (a CNAME to the API), with an optional port, e.g. track.acme.io');

export const createClientBody = z.strictObject({
  name: nonBlank(200),
  timezone: timezone.optional(),
  physicalAddress: nonBlank(500).optional(),
  trackingDomain: trackingDomain.optional(),
});

/** PATCH /v1/clients/:id: the settings an operator may change later; null clears the tracking domain. */
export const updateClientBody = z.strictObject({
  trackingDomain: trackingDomain.nullable().optional(),
});

export const clientView = z.object({
  id: z.uuid(),
  name: z.string(),
  timezone: z.string(),
  physicalAddress: z.string().nullable(),
  trackingDomain: z.string().nullable(),
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
