import { z } from 'zod';

export const uuid = z.uuid();

/**
 * Free text of up to `max` characters with something besides spaces: the
 * length and the pattern are checked on the text as sent (so the OpenAPI
 * document and the route agree on every input), then it is stored trimmed.
 */
/**
 * PostgreSQL text and jsonb cannot hold U+0000: free text refuses it by a
 * pattern the OpenAPI document states, so the request is a 400 naming the
 * field, never a 500 from the database.
 */
// eslint-disable-next-line no-control-regex -- U+0000 is the one character refused
export const NO_NUL = /^[^\u0000]*$/;
export const text = (max: number) => z.string().max(max).regex(NO_NUL, 'must not hold a NUL character (U+0000)');
export const nonBlank = (max: number) => text(max).regex(/\S/, 'must not be blank').trim();
export const idParams = z.strictObject({ id: z.uuid() });

/**
 * An address as the OpenAPI document states it (the pattern and length are
 * in the schema, so a request the document calls valid is one the API
 * takes): dot-separated local atoms, a dotted host name, a letter TLD.
 * Stored lower-cased.
 */
export const EMAIL_PATTERN = /^[A-Za-z0-9_'+-]+(\.[A-Za-z0-9_'+-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/;
export const email = z
  .string()
  .max(254)
  .regex(EMAIL_PATTERN, 'must be a valid email address')
  .transform((v) => v.toLowerCase());
/** Lead rows (CSV cells, JSON rows reported one by one, not schema-checked): trimmed, then the same rule. */
export const trimmedEmail = z.string().trim().pipe(email);

const knownZone = (tz: string) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
};
/** The canonical IANA names this runtime knows, listed in the OpenAPI document. */
export const TIME_ZONES = ['UTC', ...Intl.supportedValuesOf('timeZone').filter((z) => z !== 'UTC')];

export const timezone = z
  .string()
  .refine(knownZone, 'must be an IANA time zone, e.g. Europe/Berlin')
  .meta({ enum: TIME_ZONES, description: 'an IANA time zone; the list holds the canonical names, and their aliases (e.g. Asia/Kolkata) are accepted too' });

/** Keyset pagination: the cursor is the last item's id (any id is a valid place to start after). */
export const cursorQuery = {
  cursor: z.uuid().optional().describe("nextCursor of the previous page: the id of that page's last item"),
  limit: z.coerce.number().int().min(1).max(500).default(100),
};

export function page<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

export const errorResponse = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  }),
});
