import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { proveDomainControl } from '../../services/domain-ownership';
import { createResolver, verificationRecord } from '../../core/dns-check';
import { insertDomain, listDomains, type DomainRecord } from '../../db/repositories/domains';
import { passingRecords } from '../fakes/dns-server';

/**
 * The one way tests, benches and the demo get a sending domain they may
 * import mailboxes at: the real path. Each domain is registered (or its
 * existing claim found), its `outreach-verification` TXT record and passing
 * SPF / DKIM (selector s1) / DMARC records are published on a local DNS
 * server's zone (test/fakes/dns-server.ts), and control is proved through
 * POST /v1/domains/:id/verify. Records a test already put in the zone for a
 * name are left alone (a test may want a failing domain).
 */
export type DnsZone = Map<string, string[][]>;

/** One API call: `app.inject` in-process, or fetch against a running server. */
export type DomainApi = (method: 'GET' | 'POST', url: string, key: string, payload?: unknown) => Promise<{ statusCode: number; body: string }>;

export const injectApi = (app: FastifyInstance): DomainApi => async (method, url, key, payload) => {
  const res = await app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, ...(payload === undefined ? {} : { payload: payload as object }) });
  return { statusCode: res.statusCode, body: res.body };
};

export const fetchApi = (baseUrl: string): DomainApi => async (method, url, key, payload) => {
  const res = await fetch(baseUrl + url, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
    body: payload === undefined ? undefined : JSON.stringify(payload),
  });
  return { statusCode: res.status, body: await res.text() };
};

interface Claim { id: string; clientId: string | null; domain: string; verification: { status: string; record: { name: string; value: string } } }

/** The distinct, lower-cased domains of addresses (or domain names). */
export const domainsOf = (addressesOrDomains: string[]): string[] =>
  [...new Set(addressesOrDomains.map((a) => a.slice(a.lastIndexOf('@') + 1).toLowerCase()))];

function publish(zone: DnsZone, domain: string, record: { name: string; value: string }, passing = true): void {
  if (passing) for (const [name, records] of passingRecords(domain)) if (!zone.has(name)) zone.set(name, records);
  const there = zone.get(record.name) ?? [];
  if (!there.some((r) => r.join('') === record.value)) zone.set(record.name, [...there, [record.value]]);
}

/**
 * Makes every domain of `addresses` verified for the key's owner (a client
 * key: that client; the operator key: the agency) and returns the claim ids
 * by domain. `agency`: the key is the operator's, whose own claims are the
 * agency's (it sees every client's claims too). `passingRecords: false`
 * publishes the ownership record only (a test judging SPF/DKIM/DMARC itself).
 */
export async function verifyDomains(
  api: DomainApi,
  zone: DnsZone,
  key: string,
  addresses: string[],
  opts: { agency?: boolean; passingRecords?: boolean } = {},
): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (const domain of domainsOf(addresses)) {
    let claim: Claim | undefined;
    const created = await api('POST', '/v1/domains', key, { domain, dkimSelector: 's1' });
    if (created.statusCode === 201) claim = JSON.parse(created.body) as Claim;
    else if (created.statusCode === 409) {
      const listed = await api('GET', `/v1/domains?domain=${encodeURIComponent(domain)}&limit=500`, key);
      const items = (JSON.parse(listed.body) as { items: Claim[] }).items;
      claim = opts.agency ? items.find((c) => c.clientId === null) : items[0];
    }
    if (!claim) throw new Error(`register ${domain}: ${created.statusCode} ${created.body}`);
    if (claim.verification.status !== 'verified') {
      publish(zone, domain, claim.verification.record, opts.passingRecords ?? true);
      const res = await api('POST', `/v1/domains/${claim.id}/verify`, key);
      if (res.statusCode !== 200) throw new Error(`verify ${domain}: ${res.statusCode} ${res.body}`);
    }
    ids.set(domain, claim.id);
  }
  return ids;
}

/** The same through the stack's app and the stack's own DNS server. */
export function verifyStackDomains(
  stack: { app: FastifyInstance; adminKey: string; dns: { zone: DnsZone } | null },
  key: string,
  addresses: string[],
): Promise<Map<string, string>> {
  if (!stack.dns) throw new Error('this stack was given its own DNS_SERVER: call verifyDomains with that server\'s zone');
  return verifyDomains(injectApi(stack.app), stack.dns.zone, key, addresses, { agency: key === stack.adminKey });
}

/**
 * Without the API (tests that drive the repositories and the import path
 * directly): the claim is inserted and proved by the same proof the verify
 * route runs, against the DNS server at `dnsAddress` serving `zone`.
 */
export async function verifyDomainsInDb(
  deps: { pool: Pool; temporal: Client },
  dns: { zone: DnsZone; address: string },
  clientId: string | null,
  addresses: string[],
): Promise<void> {
  const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
  for (const domain of domainsOf(addresses)) {
    const claim: DomainRecord | undefined = (await insertDomain(deps.pool, { clientId, domain, dkimSelector: 's1', configurationSet: null }))
      ?? (await listDomains(deps.pool, clientId, null, 500, domain)).find((c) => c.clientId === clientId);
    if (!claim) throw new Error(`no claim on ${domain}`);
    publish(dns.zone, domain, verificationRecord(domain, claim.verificationToken));
    const result = await proveDomainControl({ pool: deps.pool, temporal: deps.temporal, log }, createResolver(dns.address), claim, clientId === null ? 'operator' : `client:${clientId}`);
    if ('refused' in result) throw new Error(`verify ${domain}: ${JSON.stringify(result.refused)}`);
  }
}
