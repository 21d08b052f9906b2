/**
 * What may go into a mail header line. A subject, a sender's display name and
 * any variable rendered into one must not hold CR or LF (which would end the
 * header and start another: "Ann\r\nBcc: …"), nor another control character
 * that some mail software treats as a line end or drops: C0 controls except
 * TAB, DEL, C1 controls (NEL, U+0085, among them) and the Unicode line and
 * paragraph separators. Pure: the API refuses such values where they enter
 * (core/schemas, the lead import), and the send refuses them again before a
 * provider is called.
 */

// One character class, no quantifier: a single linear scan. Control characters are what it is for.
// eslint-disable-next-line no-control-regex
const HEADER_BREAKER = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]/;

/** Index of the first character that may not appear in a header, or -1. */
export function headerBreakerAt(value: string): number {
  const m = HEADER_BREAKER.exec(value);
  return m ? m.index : -1;
}

/** `U+000D` for the character at `index`. */
export function codePointName(value: string, index: number): string {
  return `U+${value.charCodeAt(index).toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Why `value` cannot go into a header, e.g. "must not contain a line break or
 * control character (U+000D at column 4)", or null when it can.
 */
export function headerProblem(value: string): string | null {
  const at = headerBreakerAt(value);
  if (at < 0) return null;
  return `must not contain a line break or control character (${codePointName(value, at)} at column ${at + 1})`;
}

/** For zod refinements: true when `value` may go into a header. */
export const isHeaderSafe = (value: string): boolean => headerBreakerAt(value) < 0;

/** The header-bound fields of an outgoing message (activities/providers/types.ts OutgoingMessage has them all). */
export interface HeaderFields {
  from: { address: string; name?: string };
  to: string;
  subject: string;
  headers: Record<string, string>;
  inReplyTo?: string;
  references?: string[];
}

/**
 * The first header-bound field of a message that holds a character that could
 * split its header, e.g. `{ field: 'subject', problem: 'must not contain …' }`,
 * or null. `from.name` is the sender's (its mailbox's display name); every
 * other field comes from the lead, the template or the engine.
 */
export function messageHeaderProblem(m: HeaderFields): { field: string; problem: string } | null {
  const fields: [string, string | undefined][] = [
    ['from.name', m.from.name],
    ['from.address', m.from.address],
    ['to', m.to],
    ['subject', m.subject],
    ['inReplyTo', m.inReplyTo],
    ...(m.references ?? []).map((r, i): [string, string] => [`references.${i}`, r]),
    ...Object.entries(m.headers).flatMap(([k, v]): [string, string][] => [[`headers.${k} (name)`, k], [`headers.${k}`, v]]),
  ];
  for (const [field, value] of fields) {
    const problem = value === undefined ? null : headerProblem(value);
    if (problem) return { field, problem };
  }
  return null;
}
