import type { Pool } from 'pg';
import { jsonSizeExceeds } from '../../core/json-size';
import { mailboxInput, type MailboxInput } from '../../core/schemas/mailboxes';
import { verifiedDomainsOf } from '../../db/repositories/domains';
import { existingAddresses, insertMailboxes, type MailboxRecord, type NewMailbox } from '../../db/repositories/mailboxes';
import { providerIdsByName } from '../../db/repositories/providers';
import { sealImapSettings } from '../../db/repositories/mailbox-imap';
import type { SecretBox } from '../../core/crypto';
// The one set of defaults, the workflow policy's: what a row leaves out.
import { DEFAULT_LIMITS, DEFAULT_WARMUP_RAMP, DEFAULT_WINDOW } from '../../workflows/policy/defaults';

export interface RowError {
  index: number;
  path: string;
  message: string;
}

/** A mailbox row is a few hundred bytes; past this it is refused whole, before its fields are looked at. */
export const MAX_MAILBOX_ROW_BYTES = 8192;
/** Errors reported for one row at most (a row of 50 unknown fields is not 50 errors). */
const MAX_ERRORS_PER_ROW = 10;

function localDate(tz: string, at: Date): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}

export interface ImportResult {
  inserted: MailboxRecord[];
  indexes: number[];
  /** Ids of the inserted mailboxes that came with IMAP settings (their inbox watchers are to be started). */
  watched: string[];
  errors: RowError[];
  /** Addresses at domains the importer has not verified (also in `errors`); when any, nothing was written. */
  domainRefused: RowError[];
}

/**
 * Validates each row on its own, so a partly bad batch imports its good rows
 * and reports the others by index and path. Duplicates within the batch and
 * addresses that already exist are errors, as are unknown provider names.
 *
 * Addresses are accepted only at domains the importer has verified (a
 * client's own verified claims; for the operator, importing agency
 * mailboxes with clientId null, the agency's): one address elsewhere refuses
 * the whole batch, nothing written, those rows in `domainRefused`.
 */
export async function importMailboxes(
  pool: Pool,
  clientId: string | null,
  rows: unknown[],
  /** `box` seals IMAP passwords: a row with IMAP settings is refused without it. */
  defaults: { timezone: string; box?: SecretBox },
  now = new Date(),
): Promise<ImportResult> {
  const errors: RowError[] = [];
  const valid: { index: number; row: MailboxInput }[] = [];
  const seen = new Map<string, number>();

  rows.forEach((raw, index) => {
    if (jsonSizeExceeds(raw, MAX_MAILBOX_ROW_BYTES)) {
      errors.push({ index, path: `mailboxes.${index}`, message: `a mailbox row is at most ${MAX_MAILBOX_ROW_BYTES.toLocaleString('en-US')} bytes of JSON` });
      return;
    }
    const parsed = mailboxInput.safeParse(raw);
    if (!parsed.success) {
      const found: RowError[] = [];
      for (const issue of parsed.error.issues) {
        const keys = (issue as { keys?: string[] }).keys;
        const base = ['mailboxes', index, ...issue.path].join('.');
        if (keys?.length) for (const k of keys) found.push({ index, path: `${base}.${k.slice(0, 100)}`, message: 'unknown field' });
        else found.push({ index, path: base, message: issue.message });
      }
      errors.push(...found.slice(0, MAX_ERRORS_PER_ROW));
      if (found.length > MAX_ERRORS_PER_ROW) {
        errors.push({ index, path: `mailboxes.${index}`, message: `${found.length - MAX_ERRORS_PER_ROW} more errors in this row` });
      }
      return;
    }
    const first = seen.get(parsed.data.address);
    if (first !== undefined) {
      errors.push({ index, path: `mailboxes.${index}.address`, message: `duplicate of mailboxes.${first}.address in this batch` });
      return;
    }
    seen.set(parsed.data.address, index);
    valid.push({ index, row: parsed.data });
  });

  const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1).toLowerCase();
  const verified = await verifiedDomainsOf(pool, clientId, [...new Set(valid.map((v) => domainOf(v.row.address)))]);
  const owner = clientId === null ? 'the agency' : 'this client';
  const refused = valid.filter((v) => !verified.has(domainOf(v.row.address)));
  if (refused.length > 0) {
    const domainRefused = refused.map(({ index, row }) => ({
      index,
      path: `mailboxes.${index}.address`,
      message: `${domainOf(row.address)} is not a domain ${owner} has verified: register it (POST /v1/domains) and prove control (POST /v1/domains/:id/verify)`,
    }));
    errors.push(...domainRefused);
    errors.sort((a, b) => a.index - b.index);
    return { inserted: [], indexes: [], watched: [], errors, domainRefused };
  }

  const providerNames = [...new Set(valid.flatMap((v) => v.row.providers))];
  const [providerIds, existing] = await Promise.all([
    providerIdsByName(pool, providerNames),
    existingAddresses(pool, valid.map((v) => v.row.address)),
  ]);

  const toInsert: { index: number; record: NewMailbox }[] = [];
  for (const { index, row } of valid) {
    if (existing.has(row.address)) {
      errors.push({ index, path: `mailboxes.${index}.address`, message: 'a mailbox with this address already exists' });
      continue;
    }
    const unknown = row.providers.findIndex((p) => !providerIds.has(p));
    if (unknown >= 0) {
      errors.push({ index, path: `mailboxes.${index}.providers.${unknown}`, message: `unknown provider "${row.providers[unknown]}"` });
      continue;
    }
    if (row.imap && !defaults.box) {
      errors.push({ index, path: `mailboxes.${index}.imap`, message: 'IMAP settings cannot be stored here (no credentials key)' });
      continue;
    }
    const timezone = row.timezone ?? defaults.timezone;
    toInsert.push({
      index,
      record: {
        clientId,
        address: row.address,
        displayName: row.displayName ?? null,
        pool: row.pool ?? 'default',
        providerIds: row.providers.map((p) => providerIds.get(p)!),
        timezone,
        window: row.window ?? DEFAULT_WINDOW,
        limits: { ...DEFAULT_LIMITS, ...row.limits },
        warmup:
          row.warmup === null
            ? null
            : { ...DEFAULT_WARMUP_RAMP, ...row.warmup, startedOn: row.warmup?.startedOn ?? localDate(timezone, now) },
        imap: row.imap && defaults.box ? sealImapSettings(defaults.box, row.imap) : null,
      },
    });
  }

  const { inserted, conflicts } = await insertMailboxes(pool, toInsert.map((t) => t.record));
  const conflicted = new Set(conflicts);
  const indexes: number[] = [];
  const withImap = new Set(toInsert.filter((t) => t.record.imap).map((t) => t.record.address));
  for (const t of toInsert) {
    if (conflicted.has(t.record.address)) {
      errors.push({ index: t.index, path: `mailboxes.${t.index}.address`, message: 'a mailbox with this address already exists' });
    } else indexes.push(t.index);
  }
  errors.sort((a, b) => a.index - b.index);
  const watched = inserted.filter((m) => withImap.has(m.address)).map((m) => m.id);
  return { inserted, indexes, watched, errors, domainRefused: [] };
}
