/**
 * Is a tracking request a person, or a machine fetching ahead of one? Pure.
 *
 * Machines open pixels and follow links that no person asked for: Apple Mail
 * Privacy Protection fetches every image of every message through Apple's
 * proxies when the mail arrives, and mail security gateways (Microsoft
 * Defender Safe Links, Mimecast, Proofpoint, Barracuda…) fetch every link of
 * a message within seconds of delivery. Such requests are counted apart
 * (prefetches), never as opens or clicks. The signals, in order:
 *
 * - `head_request`: a HEAD (a person's mail client or browser GETs);
 * - `no_user_agent`: no User-Agent at all;
 * - `scanner_user_agent`: a user agent naming a security scanner, a link
 *   unfurler, a crawler or an HTTP library (SCANNER_AGENTS);
 * - `apple_proxy`: an address of Apple's (17.0.0.0/8 and Apple's IPv6
 *   blocks, where its proxies fetch from), or the bare `Mozilla/5.0` user
 *   agent those fetches carry;
 * - `proxy_range`: an address in the ranges the operator configured
 *   (TRACKING_PREFETCH_CIDRS, e.g. a gateway's published egress ranges);
 * - `soon_after_send`: within the configured window after the send went out
 *   (TRACKING_PREFETCH_SECONDS): no person opens and reads that fast.
 *
 * Gmail's and Yahoo's image proxies fetch when the person opens the mail, so
 * they count as opens.
 */
import { BlockList, isIP } from 'node:net';

export const PREFETCH_REASONS = ['head_request', 'no_user_agent', 'scanner_user_agent', 'apple_proxy', 'proxy_range', 'soon_after_send'] as const;
export type PrefetchReason = (typeof PREFETCH_REASONS)[number];

export interface TrackingHit {
  method: string;
  userAgent: string | undefined;
  /** The client address as the API sees it (TRUST_PROXY decides whether X-Forwarded-For counts). */
  ip: string | undefined;
  at: Date;
  /** When the send went out; null when not recorded (then the time signal is not used). */
  sentAt: Date | null;
}

export interface PrefetchRules {
  /** A request sooner than this after the send is a prefetch. */
  windowMs: number;
  /** Extra address ranges whose requests are prefetches (from parseCidrs). */
  ranges: BlockList;
}

/** Lower-case substrings of user agents that are never a person reading mail. */
export const SCANNER_AGENTS = [
  // mail security gateways and link scanners
  'barracuda', 'mimecast', 'proofpoint', 'ironport', 'messagelabs', 'symantec', 'forcepoint', 'trendmicro', 'trend micro',
  'fortiguard', 'sophos', 'zscaler', 'bitdefender', 'safelinks', 'appriver', 'cloudmark', 'spamtitan', 'vadesecure',
  'hornetsecurity', 'libraesva', 'avanan', 'checkpoint', 'cisco', 'mailcontrol', 'scanner',
  // link unfurlers and crawlers
  'googlebot', 'bingbot', 'slackbot', 'twitterbot', 'linkedinbot', 'discordbot', 'telegrambot', 'facebookexternalhit',
  'whatsapp', 'skypeuripreview', 'crawler', 'spider', 'bot/', '+http',
  // HTTP libraries and headless browsers
  'python-requests', 'python-urllib', 'aiohttp', 'curl/', 'wget/', 'go-http-client', 'okhttp', 'java/', 'apache-httpclient',
  'libwww-perl', 'node-fetch', 'axios/', 'undici', 'headlesschrome', 'phantomjs',
] as const;

/** Where Apple Mail Privacy Protection's proxies fetch from: Apple's own address blocks. */
const APPLE_RANGES: [string, number, 'ipv4' | 'ipv6'][] = [
  ['17.0.0.0', 8, 'ipv4'],
  ['2620:149::', 32, 'ipv6'],
  ['2403:300::', 32, 'ipv6'],
  ['2a01:b740::', 32, 'ipv6'],
];
const APPLE = new BlockList();
for (const [net, bits, family] of APPLE_RANGES) APPLE.addSubnet(net, bits, family);

/** An IPv4-mapped IPv6 address (::ffff:1.2.3.4) is its IPv4 address. */
function normalise(ip: string | undefined): { address: string; family: 'ipv4' | 'ipv6' } | null {
  if (!ip) return null;
  const v = ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
  const family = isIP(v);
  return family === 0 ? null : { address: v, family: family === 4 ? 'ipv4' : 'ipv6' };
}

/** Comma-separated addresses or CIDRs as one BlockList; null naming the first bad entry's position when one is not. */
export function parseCidrs(list: string[]): { ranges: BlockList } | { bad: string } {
  const ranges = new BlockList();
  for (const entry of list) {
    const [net, bits, ...rest] = entry.split('/');
    const family = isIP(net ?? '');
    if (family === 0 || rest.length > 0) return { bad: entry };
    const max = family === 4 ? 32 : 128;
    const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
    if (!(prefix >= 0 && prefix <= max)) return { bad: entry };
    ranges.addSubnet(net!, prefix, family === 4 ? 'ipv4' : 'ipv6');
  }
  return { ranges };
}

export function prefetchReason(hit: TrackingHit, rules: PrefetchRules): PrefetchReason | null {
  if (hit.method.toUpperCase() === 'HEAD') return 'head_request';
  const agent = (hit.userAgent ?? '').trim();
  if (agent === '') return 'no_user_agent';
  const lower = agent.toLowerCase();
  if (SCANNER_AGENTS.some((s) => lower.includes(s))) return 'scanner_user_agent';
  const ip = normalise(hit.ip);
  if (agent === 'Mozilla/5.0' || (ip && APPLE.check(ip.address, ip.family))) return 'apple_proxy';
  if (ip && rules.ranges.check(ip.address, ip.family)) return 'proxy_range';
  if (hit.sentAt && hit.at.getTime() - hit.sentAt.getTime() < rules.windowMs) return 'soon_after_send';
  return null;
}
