import { promises as dns } from 'node:dns';
import { randomBytes } from 'node:crypto';

/**
 * SPF, DKIM and DMARC checks of a sending domain through Node's DNS resolver.
 * The server is configurable (DNS_SERVER, e.g. 127.0.0.1:5353) so a test can
 * serve its own records; unset = the system's resolvers.
 *
 * Each record is `pass`, `missing` (no TXT record of that kind, or the name
 * does not exist) or `malformed` (present but unusable). The domain passes
 * only when all three pass. A lookup that fails for another reason (timeout,
 * SERVFAIL) is `error`: the domain fails, and the next check tries again.
 */
export type RecordVerdict = 'pass' | 'missing' | 'malformed' | 'error';

export interface RecordCheck {
  verdict: RecordVerdict;
  name: string;
  /** Why it is not a pass (never the record itself beyond its tag). */
  detail?: string;
}

export interface DomainVerdict {
  overall: 'pass' | 'fail';
  spf: RecordCheck;
  dkim: RecordCheck;
  dmarc: RecordCheck;
}

export interface TxtResolver {
  resolveTxt(name: string): Promise<string[][]>;
}

/** A resolver on `server` (host:port or host), or the system's; short timeouts, few tries. */
export function createResolver(server?: string, timeoutMs = 2000): TxtResolver {
  const resolver = new dns.Resolver({ timeout: timeoutMs, tries: 2 });
  if (server) resolver.setServers([server]);
  return resolver;
}

const NOT_FOUND = new Set(['ENOTFOUND', 'ENODATA', 'NOTFOUND', 'NODATA']);

async function txt(resolver: TxtResolver, name: string): Promise<{ records: string[] } | { error: string }> {
  try {
    const chunks = await resolver.resolveTxt(name);
    // A TXT record is one or more strings, read as their concatenation (RFC 7208 §3.3).
    return { records: chunks.map((c) => c.join('')) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (NOT_FOUND.has(code)) return { records: [] };
    return { error: code || 'lookup failed' };
  }
}

/** `v=spf1` record: exactly one, ending in an `all` mechanism or a redirect, with known mechanisms. */
export function spfVerdict(records: string[]): Omit<RecordCheck, 'name'> {
  const spf = records.filter((r) => /^v=spf1(\s|$)/i.test(r.trim()));
  if (spf.length === 0) return { verdict: 'missing' };
  if (spf.length > 1) return { verdict: 'malformed', detail: 'more than one v=spf1 record' };
  const terms = spf[0]!.trim().split(/\s+/).slice(1);
  if (terms.length === 0) return { verdict: 'malformed', detail: 'no mechanisms' };
  const mechanism = /^[+\-~?]?(all|include:\S+|a(:\S+)?(\/\d+)?|mx(:\S+)?(\/\d+)?|ptr(:\S+)?|ip4:\S+|ip6:\S+|exists:\S+)$/i;
  const modifier = /^(redirect|exp)=\S+$/i;
  const bad = terms.find((t) => !mechanism.test(t) && !modifier.test(t));
  if (bad !== undefined) return { verdict: 'malformed', detail: `unknown term "${bad.slice(0, 40)}"` };
  if (!terms.some((t) => /^[+\-~?]?all$/i.test(t) || /^redirect=/i.test(t))) {
    return { verdict: 'malformed', detail: 'no all mechanism or redirect' };
  }
  return { verdict: 'pass' };
}

function tags(record: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of record.split(';')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    out.set(part.slice(0, i).trim().toLowerCase(), part.slice(i + 1).trim());
  }
  return out;
}

/** DKIM key record: a `p=` tag with a base64 key (empty p= means revoked), `v=DKIM1` when a version is given. */
export function dkimVerdict(records: string[]): Omit<RecordCheck, 'name'> {
  if (records.length === 0) return { verdict: 'missing' };
  const record = records.find((r) => /(^|;)\s*p=/i.test(r)) ?? records[0]!;
  const t = tags(record);
  const v = t.get('v');
  if (v !== undefined && v.toUpperCase() !== 'DKIM1') return { verdict: 'malformed', detail: 'v= is not DKIM1' };
  const p = t.get('p');
  if (p === undefined) return { verdict: 'malformed', detail: 'no p= tag' };
  const key = p.replace(/\s+/g, '');
  if (key === '') return { verdict: 'malformed', detail: 'p= is empty (key revoked)' };
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(key)) return { verdict: 'malformed', detail: 'p= is not base64' };
  return { verdict: 'pass' };
}

/** DMARC record: starts with `v=DMARC1`, has a `p=` of none, quarantine or reject. */
export function dmarcVerdict(records: string[]): Omit<RecordCheck, 'name'> {
  const dmarc = records.filter((r) => /^v\s*=\s*DMARC1/i.test(r.trim()));
  if (dmarc.length === 0) {
    return records.some((r) => /dmarc/i.test(r))
      ? { verdict: 'malformed', detail: 'does not start with v=DMARC1' }
      : { verdict: 'missing' };
  }
  if (dmarc.length > 1) return { verdict: 'malformed', detail: 'more than one DMARC record' };
  const t = tags(dmarc[0]!);
  const p = t.get('p');
  if (p === undefined) return { verdict: 'malformed', detail: 'no p= tag' };
  if (!/^(none|quarantine|reject)$/i.test(p)) return { verdict: 'malformed', detail: 'p= must be none, quarantine or reject' };
  return { verdict: 'pass' };
}

async function checkOne(
  resolver: TxtResolver,
  name: string,
  judge: (records: string[]) => Omit<RecordCheck, 'name'>,
): Promise<RecordCheck> {
  const got = await txt(resolver, name);
  if ('error' in got) return { verdict: 'error', name, detail: got.error };
  return { name, ...judge(got.records) };
}

/** Checks the three records of `domain` (DKIM at `<selector>._domainkey.<domain>`; no selector = missing). */
export async function checkDomainDns(resolver: TxtResolver, domain: string, dkimSelector: string | null): Promise<DomainVerdict> {
  const d = domain.toLowerCase().replace(/\.$/, '');
  const [spf, dkim, dmarc] = await Promise.all([
    checkOne(resolver, d, spfVerdict),
    dkimSelector
      ? checkOne(resolver, `${dkimSelector}._domainkey.${d}`, dkimVerdict)
      : Promise.resolve<RecordCheck>({ verdict: 'missing', name: `(no selector)._domainkey.${d}`, detail: 'no DKIM selector set' }),
    checkOne(resolver, `_dmarc.${d}`, dmarcVerdict),
  ]);
  const overall = spf.verdict === 'pass' && dkim.verdict === 'pass' && dmarc.verdict === 'pass' ? 'pass' : 'fail';
  return { overall, spf, dkim, dmarc };
}

/**
 * Proof of control: the owner of a claim publishes `outreach-verification=<token>`
 * as a TXT record at `_outreach.<domain>` (a label of its own, so the record
 * sits beside SPF and other verification records without touching them).
 */
export const VERIFICATION_LABEL = '_outreach';
export const VERIFICATION_PREFIX = 'outreach-verification=';

export function verificationRecord(domain: string, token: string): { type: 'TXT'; name: string; value: string } {
  return { type: 'TXT', name: `${VERIFICATION_LABEL}.${domain.toLowerCase().replace(/\.$/, '')}`, value: `${VERIFICATION_PREFIX}${token}` };
}

/** A fresh verification token: 32 random bytes, base64url (43 characters). */
export function newVerificationToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Looks the claim's record up: `pass` when one TXT record at `_outreach.<domain>`
 * is exactly `outreach-verification=<token>`; `missing` when none is (the
 * detail says how many other records were there, never their text); `error`
 * when the lookup failed.
 */
export async function checkDomainControl(resolver: TxtResolver, domain: string, token: string): Promise<RecordCheck> {
  const { name, value } = verificationRecord(domain, token);
  const got = await txt(resolver, name);
  if ('error' in got) return { verdict: 'error', name, detail: got.error };
  if (got.records.some((r) => r.trim() === value)) return { verdict: 'pass', name };
  const others = got.records.filter((r) => r.trim().startsWith(VERIFICATION_PREFIX)).length;
  return {
    verdict: 'missing',
    name,
    detail: others > 0 ? `${others} ${VERIFICATION_PREFIX} record(s) at ${name}, none with this claim's token` : `no ${VERIFICATION_PREFIX} record at ${name}`,
  };
}
