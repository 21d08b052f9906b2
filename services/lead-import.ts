import { parse, type CsvError } from 'csv-parse';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Pool } from 'pg';
import { AppError, badRequest, conflict, notFound } from '../core/errors';
import { headerProblem } from '../core/mail-headers';
import { leadEmail } from '../core/schemas/campaigns';
import { insertLeadsIfCampaignOpen, type NewLead } from '../db/repositories/leads';

/**
 * Lead uploads (JSON or CSV) for one campaign.
 *
 * Rows are validated one by one and collected in memory (100,000 small objects
 * at most); nothing is written until the whole upload has been read, and then
 * every good row goes to the database in one transaction. So an upload that
 * breaks a limit, or a CSV that turns out malformed halfway, writes nothing.
 *
 * CSV rules (documented in API.md terms for callers):
 *
 * - Row numbers. `row` in the report is the 1-based DATA row: row 1 is the
 *   first record after the header row. Blank lines (and lines whose fields are
 *   all empty, like ",,,") are skipped and NOT counted, so "row 7" is the 7th
 *   non-blank record after the header. A quoted field spanning several lines
 *   is still one row.
 * - Headers. The email column is the header that reads `email`, `e-mail` or
 *   `email address` in any case (spaces, dashes and underscores ignored).
 *   Every other column becomes a lead variable, its header normalised to a
 *   camelCase identifier: accents are dropped, the header is split into words
 *   at every character that is not an ASCII letter or digit, an all-caps word
 *   is lower-cased, then the first word starts lower-case and each later word
 *   upper-case ("First Name" → firstName, "FIRST_NAME" → firstName,
 *   "companyName" → companyName, "Ville/Région" → villeRegion); a name that
 *   starts with a digit gets a leading "_" ("2nd line" → _2ndLine). Columns
 *   with an empty header are ignored. Two headers that normalise to the same
 *   name, a name longer than 64 characters, or the reserved `unsubscribeUrl`
 *   are a 400 naming the header.
 * - Values are trimmed; an empty cell is stored as "". A value longer than
 *   2,000 characters, or a row with more non-empty fields than the header has
 *   columns, makes that row invalid.
 * - Bounds, checked on the raw bytes before csv-parse builds a record (so a
 *   header of 60,000 columns, or a line of a million commas, is refused
 *   before it is ever an array): at most 100 fields in any row, header
 *   included, and at most 256 KiB in a row, delimiters and quotes included.
 *   Past either, the whole upload is a 400 naming the row and the limit, and
 *   nothing is imported. 100,000 data rows and 50 MB at most (a 413).
 * - A value that a campaign template renders into a subject (a mail header)
 *   may not hold a line break or control character: that row is invalid.
 * - UTF-8 only (an optional BOM is skipped); CRLF or LF line ends; fields
 *   quoted with `"` may hold commas, newlines and `""`.
 */

export const MAX_LEAD_ROWS = 100_000;
export const MAX_CSV_BYTES = 50 * 1024 * 1024;
export const MAX_VAR_LENGTH = 2000;
/** Columns of a CSV upload (fields of any row) and variables of a JSON lead. */
export const MAX_LEAD_COLUMNS = 100;
export const MAX_RECORD_BYTES = 256 * 1024;
const RESERVED_VARS = new Set(['email', 'unsubscribeUrl']);
const EMAIL_HEADERS = new Set(['email', 'emailaddress']);

export interface LeadImportReport {
  accepted: number;
  duplicates: number;
  suppressed: number;
  invalid: { row: number; message: string }[];
}

export const tooManyRows = () =>
  new AppError(413, 'payload_too_large', `at most ${MAX_LEAD_ROWS.toLocaleString('en-US')} leads per upload; nothing was imported`);

/** Validation and in-upload de-duplication, shared by the JSON and CSV paths. */
export class LeadCollector {
  readonly leads: NewLead[] = [];
  readonly invalid: { row: number; message: string }[] = [];
  duplicates = 0;
  private readonly seen = new Set<string>();

  /** `headerVars`: the variables the campaign's subjects render (core/template/validate.ts headerVariables). */
  constructor(private readonly headerVars: ReadonlySet<string> = new Set()) {}

  /** `varLabel` prefixes a variable's name in a message: "" for CSV (the column), `leads.3.vars.` for JSON. */
  add(row: number, rawEmail: unknown, vars: Record<string, unknown>, emailLabel = 'email', varLabel = ''): void {
    for (const [name, value] of Object.entries(vars)) {
      // PostgreSQL cannot store U+0000 in text or jsonb: refused here, not a 500 at the insert.
      if (typeof value === 'string' && value.includes('\u0000')) {
        this.invalid.push({ row, message: `${varLabel}${name}: must not contain a NUL character (U+0000)` });
        return;
      }
    }
    for (const name of this.headerVars) {
      const value = vars[name];
      const problem = typeof value === 'string' ? headerProblem(value) : null;
      if (problem) {
        this.invalid.push({ row, message: `${varLabel}${name}: used in a subject of this campaign, ${problem}` });
        return;
      }
    }
    const e = leadEmail.safeParse(rawEmail);
    if (!e.success) {
      const shown = typeof rawEmail === 'string' && rawEmail.trim() !== '' ? ` (got "${rawEmail.trim().slice(0, 100)}")` : '';
      this.invalid.push({ row, message: `${emailLabel}: must be a valid email address${shown}` });
    } else if (this.seen.has(e.data)) {
      this.duplicates++;
    } else {
      this.seen.add(e.data);
      this.leads.push({ email: e.data, vars });
    }
  }

  reject(row: number, message: string): void {
    this.invalid.push({ row, message });
  }
}

/** "First Name" → firstName; see the module comment for the whole rule. */
export function normaliseHeader(header: string): string {
  const words = header
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w !== '')
    .map((w) => (w === w.toUpperCase() ? w.toLowerCase() : w));
  const name = words.map((w, i) => (i === 0 ? w[0]!.toLowerCase() : w[0]!.toUpperCase()) + w.slice(1)).join('');
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

function isEmailHeader(header: string): boolean {
  return EMAIL_HEADERS.has(header.toLowerCase().replace(/[\s_-]+/g, ''));
}

interface Columns {
  emailIndex: number;
  /** index → variable name, or null for an ignored column. */
  names: (string | null)[];
}

function readHeader(fields: string[]): Columns {
  const emailIdx = fields.map((f, i) => (isEmailHeader(f.trim()) ? i : -1)).filter((i) => i >= 0);
  if (emailIdx.length === 0) {
    throw badRequest('the CSV header row has no email column', [
      { path: 'email', message: `no column named "email" in the header (${fields.map((f) => JSON.stringify(f.trim())).join(', ').slice(0, 300)})` },
    ]);
  }
  if (emailIdx.length > 1) {
    throw badRequest('the CSV header row has more than one email column', [
      { path: 'email', message: `columns ${emailIdx.map((i) => i + 1).join(' and ')} both name an email column` },
    ]);
  }
  const emailIndex = emailIdx[0]!;
  const taken = new Map<string, string>();
  const names = fields.map((raw, i) => {
    if (i === emailIndex) return null;
    const header = raw.trim();
    if (header === '') return null;
    const name = normaliseHeader(header);
    const at = `header.${i + 1}`;
    if (name === '') throw badRequest(`CSV header "${header}" has no letters or digits`, [{ path: at, message: 'cannot be turned into a variable name' }]);
    if (name.length > 64) throw badRequest(`CSV header "${header}" is too long`, [{ path: at, message: 'variable names are at most 64 characters' }]);
    if (RESERVED_VARS.has(name)) throw badRequest(`CSV header "${header}" is reserved`, [{ path: at, message: `"${name}" is set by the engine` }]);
    const clash = taken.get(name);
    if (clash !== undefined) {
      throw badRequest(`CSV headers "${clash}" and "${header}" both become the variable ${name}`, [{ path: at, message: `duplicate of "${clash}"` }]);
    }
    taken.set(name, header);
    return name;
  });
  return { emailIndex, names };
}

function isBlank(fields: string[]): boolean {
  return fields.every((f) => f.trim() === '');
}

/** Counts bytes through the stream and fails it past the limit, so an upload is never buffered whole. */
function byteLimit(max: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > max) cb(new AppError(413, 'payload_too_large', `CSV uploads are at most ${max / (1024 * 1024)} MB; nothing was imported`));
      else cb(null, chunk);
    },
  });
}

const refuseRow = (path: string, line: number, what: string, limit: string) =>
  badRequest(`the CSV breaks a limit: ${limit}; nothing was imported`, [{ path, message: `line ${line} of the file ${what}` }]);

/**
 * Bounds every row of a CSV on its raw bytes, ahead of csv-parse: at most
 * MAX_LEAD_COLUMNS fields and MAX_RECORD_BYTES bytes a row. It follows quotes
 * the way csv-parse reads a valid file (a `"` opens or closes a quoted field,
 * `""` inside one toggles twice) and ends a row at CR or LF outside quotes
 * (the parser is told to end rows at any of CRLF, LF, CR, so both agree on
 * where a row ends). One pass, a few integers of state: linear, and nothing
 * is buffered. Row numbers count non-blank rows as the report does.
 */
export function rowBounds(maxFields = MAX_LEAD_COLUMNS, maxBytes = MAX_RECORD_BYTES): Transform {
  let quoted = false;
  let fields = 1;
  let bytes = 0;
  let content = false; // this row has a byte other than space, tab, comma or quote
  let rows = 0; // non-blank rows ended so far (the header is the first)
  let line = 1; // of the file: LF, CR and CRLF each end one
  let afterCr = false;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      for (let i = 0; i < chunk.length; i++) {
        const c = chunk[i]!;
        if (c === 0x0d || (c === 0x0a && !afterCr)) line++;
        afterCr = c === 0x0d;
        if (c === 0x22 /* " */) quoted = !quoted;
        else if (!quoted && (c === 0x0a || c === 0x0d)) {
          if (content) rows++;
          fields = 1;
          bytes = 0;
          content = false;
          continue;
        } else if (!quoted && c === 0x2c /* , */) fields++;
        if (c !== 0x20 && c !== 0x09 && c !== 0x2c && c !== 0x22) content = true;
        bytes++;
        if (fields > maxFields || bytes > maxBytes) {
          const path = rows === 0 ? 'header' : `row.${rows}`;
          const err = fields > maxFields
            ? refuseRow(path, line, `has more than ${maxFields} fields`, `at most ${maxFields} columns`)
            : refuseRow(path, line, `is longer than ${maxBytes.toLocaleString('en-US')} bytes`, `rows of at most ${maxBytes.toLocaleString('en-US')} bytes`);
          cb(err);
          return;
        }
      }
      cb(null, chunk);
    },
  });
}

/**
 * Pipes the request body into `into` without tying the request's fate to it:
 * a refusal downstream (a limit broken halfway) only stops the reading, and
 * the server discards the rest of the upload once the answer is out. In a
 * pipeline the refusal would also destroy the request, and what that does
 * depends on the request stream (under Fastify's inject, the request fails
 * instead of being answered). A request that fails or is cut off still fails
 * the chain.
 */
function feed(body: Readable, into: Transform): Transform {
  body.once('error', (err) => into.destroy(err));
  body.once('close', () => {
    if (!body.readableEnded) into.destroy(new Error('the upload was cut off before its end'));
  });
  return body.pipe(into);
}

/** Streams a CSV upload through csv-parse and validates each record as it arrives. */
export async function collectCsvLeads(
  body: Readable,
  limits: { maxRows?: number; maxBytes?: number } = {},
  headerVars: ReadonlySet<string> = new Set(),
): Promise<LeadCollector> {
  const maxRows = limits.maxRows ?? MAX_LEAD_ROWS;
  const maxBytes = limits.maxBytes ?? MAX_CSV_BYTES;
  const out = new LeadCollector(headerVars);
  let columns: Columns | null = null;
  let row = 0;

  // Records are handled synchronously in on_record, in file order, and dropped
  // (null); so the row count is exact when the parser fails on a later record.
  const parser = parse({
    bom: true,
    record_delimiter: ['\r\n', '\n', '\r'], // as rowBounds reads rows
    skip_empty_lines: true,
    relax_column_count: true,
    max_record_size: MAX_RECORD_BYTES,
    on_record: (record: string[]) => {
      if (isBlank(record)) return null;
      if (!columns) {
        columns = readHeader(record);
        return null;
      }
      row++;
      if (row > maxRows) throw tooManyRows();
      addCsvRow(out, columns, row, record);
      return null;
    },
  });

  try {
    await pipeline(feed(body, byteLimit(maxBytes)), rowBounds(), parser, async (records: AsyncIterable<unknown>) => {
      for await (const _ of records) {
        // on_record keeps nothing; this only drains the parser.
      }
    });
  } catch (err) {
    if (err instanceof AppError) throw err;
    const csv = err as CsvError;
    if (typeof csv.code === 'string' && csv.code.startsWith('CSV_')) {
      const line = (csv as CsvError & { lines?: number }).lines;
      const where = `data row ${row + (columns ? 1 : 0)}${line ? `, line ${line} of the file` : ''}`;
      throw badRequest(`malformed CSV at ${where}: ${csv.message}`, [{ path: columns ? `row.${row + 1}` : 'header', message: csv.message }]);
    }
    throw err;
  }
  if (!columns) throw badRequest('the CSV is empty: expected a header row with an email column', [{ path: 'email', message: 'no header row' }]);
  return out;
}

function addCsvRow(out: LeadCollector, columns: Columns, row: number, record: string[]): void {
  const extra = record.slice(columns.names.length).filter((f) => f.trim() !== '');
  if (extra.length > 0) {
    out.reject(row, `has ${record.length} fields but the header has ${columns.names.length} columns`);
    return;
  }
  const vars: Record<string, string> = {};
  for (let i = 0; i < columns.names.length; i++) {
    const name = columns.names[i];
    if (!name) continue;
    const value = (record[i] ?? '').trim();
    if (value.length > MAX_VAR_LENGTH) {
      out.reject(row, `${name}: longer than ${MAX_VAR_LENGTH} characters`);
      return;
    }
    vars[name] = value;
  }
  out.add(row, record[columns.emailIndex] ?? '', vars);
}

/**
 * Writes the collected leads in one transaction, after checking (under a
 * share lock) that the campaign is the client's and still takes leads.
 */
export async function importLeads(
  pool: Pool, clientId: string, campaignId: string, collected: LeadCollector, privacyKey?: Buffer | null,
): Promise<LeadImportReport> {
  const out = await insertLeadsIfCampaignOpen(pool, clientId, campaignId, collected.leads, privacyKey);
  if (!out.ok) {
    if (out.status === null) throw notFound('campaign');
    throw conflict(`campaign is ${out.status}; it takes no more leads`, [{ path: 'status', message: out.status }]);
  }
  const { result } = out;
  return { ...result, duplicates: result.duplicates + collected.duplicates, invalid: collected.invalid };
}
