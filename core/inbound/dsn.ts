/**
 * RFC 3464 delivery status notifications, pure: the `message/delivery-status`
 * part's fields (one per-message group, then one group per recipient) and
 * what each recipient's outcome means for us.
 * https://www.rfc-editor.org/rfc/rfc3464
 */

export interface DsnRecipient {
  /** Lower-cased address from Final-Recipient (else Original-Recipient), without its address type. */
  address: string | null;
  /** failed, delayed, delivered, relayed or expanded (lower-cased); null when missing. */
  action: string | null;
  /** The RFC 3463 status code, e.g. 5.1.1; null when missing or malformed. */
  status: string | null;
  /** A permanent failure: action failed with a 5.x.x status. */
  hard: boolean;
  /** Not delivered (yet): failed (any status) or delayed. */
  failed: boolean;
  diagnostic: string | null;
}

/** Header-like field groups: unfolded lines, groups split at blank lines; names lower-cased. */
export function fieldGroups(text: string): Map<string, string>[] {
  const groups: Map<string, string>[] = [];
  let current: Map<string, string> | null = null;
  let last: string | null = null;
  for (const line of text.replace(/\r\n?/g, '\n').split('\n')) {
    if (line.trim() === '') {
      if (current && current.size > 0) groups.push(current);
      current = null;
      last = null;
      continue;
    }
    if (/^[ \t]/.test(line) && current && last) {
      current.set(last, `${current.get(last)} ${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!/^[a-z0-9-]+$/.test(name)) continue;
    current ??= new Map();
    if (!current.has(name)) current.set(name, line.slice(colon + 1).trim());
    last = name;
  }
  if (current && current.size > 0) groups.push(current);
  return groups;
}

/** `rfc822; <Ann@Example.com>` → `ann@example.com` (the address type before `;` is dropped). */
export function dsnAddress(value: string | undefined): string | null {
  if (!value) return null;
  const raw = (value.includes(';') ? value.slice(value.indexOf(';') + 1) : value).trim().replace(/^<|>$/g, '').trim();
  return /^[^\s@<>]+@[^\s@<>]+$/.test(raw) ? raw.toLowerCase() : null;
}

/** The recipients of a `message/delivery-status` body (groups naming a recipient or an action). */
export function parseDeliveryStatus(text: string): DsnRecipient[] {
  return fieldGroups(text)
    .filter((g) => g.has('final-recipient') || g.has('original-recipient') || g.has('action'))
    .filter((g) => g.has('action') || g.has('status'))
    .map((g) => {
      const action = g.get('action')?.split(/[\s(]/)[0]?.toLowerCase() || null;
      const status = /^([245])\.\d{1,3}\.\d{1,3}/.exec(g.get('status') ?? '')?.[0] ?? null;
      const failed = action === 'failed' || action === 'delayed' || (action === null && (status?.startsWith('5') || status?.startsWith('4') || false));
      return {
        address: dsnAddress(g.get('final-recipient')) ?? dsnAddress(g.get('original-recipient')),
        action,
        status,
        hard: (action === 'failed' || action === null) && status !== null && status.startsWith('5'),
        failed,
        diagnostic: g.get('diagnostic-code')?.slice(0, 500) ?? null,
      };
    });
}
