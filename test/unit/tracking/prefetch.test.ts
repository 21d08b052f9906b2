import { BlockList } from 'node:net';
import { parseCidrs, prefetchReason, SCANNER_AGENTS, type PrefetchRules, type TrackingHit } from '../../../core/tracking/prefetch';

const SAFARI = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15';
const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
const GMAIL_PROXY = 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)';
const sentAt = new Date('2026-03-02T10:00:00Z');
const later = new Date('2026-03-02T11:00:00Z');
const noRanges: PrefetchRules = { windowMs: 10_000, ranges: new BlockList() };

const hit = (over: Partial<TrackingHit> = {}): TrackingHit => ({ method: 'GET', userAgent: SAFARI, ip: '198.51.100.7', at: later, sentAt, ...over });

describe('prefetch heuristics (core/tracking/prefetch.ts)', () => {
  it('a person: a browser or mail client, an ordinary address, long after the send', () => {
    expect(prefetchReason(hit(), noRanges)).toBeNull();
    expect(prefetchReason(hit({ userAgent: CHROME, ip: '2001:db8::5' }), noRanges)).toBeNull();
  });

  it("Gmail's and Yahoo's image proxies fetch when the person opens: a person", () => {
    expect(prefetchReason(hit({ userAgent: GMAIL_PROXY, ip: '66.102.8.1' }), noRanges)).toBeNull();
    expect(prefetchReason(hit({ userAgent: 'YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html' }), noRanges)).toBeNull();
  });

  it('HEAD and a missing or blank user agent', () => {
    expect(prefetchReason(hit({ method: 'HEAD' }), noRanges)).toBe('head_request');
    expect(prefetchReason(hit({ method: 'head' }), noRanges)).toBe('head_request');
    expect(prefetchReason(hit({ userAgent: undefined }), noRanges)).toBe('no_user_agent');
    expect(prefetchReason(hit({ userAgent: '   ' }), noRanges)).toBe('no_user_agent');
  });

  it.each([
    'Mozilla/5.0 (compatible; Barracuda Sentinel)',
    'Mimecast-URL-Protect/1.0',
    'Mozilla/5.0 (compatible; ProofpointURLDefense)',
    'Microsoft Office SafeLinks Scanner',
    'python-requests/2.31.0',
    'curl/8.5.0',
    'Go-http-client/1.1',
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36',
    'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)',
    'facebookexternalhit/1.1',
    'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  ])('scanner, unfurler or library user agent: %s', (userAgent) => {
    expect(prefetchReason(hit({ userAgent }), noRanges)).toBe('scanner_user_agent');
  });

  it('every listed agent fragment is lower case (it is matched against the lower-cased agent)', () => {
    expect(SCANNER_AGENTS.filter((s) => s !== s.toLowerCase())).toEqual([]);
  });

  it("Apple Mail Privacy Protection: Apple's addresses (IPv4, IPv4-mapped, IPv6) or the bare Mozilla/5.0 agent", () => {
    for (const ip of ['17.58.101.4', '::ffff:17.1.2.3', '2620:149:a0c:f000::1', '2403:300:a0a:f000::2', '2a01:b740:a42::9']) {
      expect([ip, prefetchReason(hit({ ip, userAgent: 'Mozilla/5.0' }), noRanges)]).toEqual([ip, 'apple_proxy']);
      expect([ip, prefetchReason(hit({ ip, userAgent: SAFARI }), noRanges)]).toEqual([ip, 'apple_proxy']);
    }
    expect(prefetchReason(hit({ userAgent: 'Mozilla/5.0' }), noRanges)).toBe('apple_proxy');
    expect(prefetchReason(hit({ ip: '18.0.0.1' }), noRanges)).toBeNull(); // just outside 17.0.0.0/8
  });

  it('configured ranges (TRACKING_PREFETCH_CIDRS)', () => {
    const parsed = parseCidrs(['40.92.0.0/15', '2a01:111::/32', '203.0.113.9']);
    if (!('ranges' in parsed)) throw new Error('ranges refused');
    const rules = { ...noRanges, ranges: parsed.ranges };
    expect(prefetchReason(hit({ ip: '40.93.255.1' }), rules)).toBe('proxy_range');
    expect(prefetchReason(hit({ ip: '::ffff:40.92.0.1' }), rules)).toBe('proxy_range');
    expect(prefetchReason(hit({ ip: '2a01:111:f400::1' }), rules)).toBe('proxy_range');
    expect(prefetchReason(hit({ ip: '203.0.113.9' }), rules)).toBe('proxy_range');
    expect(prefetchReason(hit({ ip: '203.0.113.10' }), rules)).toBeNull();
    expect(prefetchReason(hit({ ip: '40.94.0.1' }), rules)).toBeNull();
  });

  it('parseCidrs names the first bad entry', () => {
    for (const bad of ['40.92.0.0/33', '2a01::/129', 'example.com', '1.2.3.4/8/1', '1.2.3.4/x', '']) {
      expect([bad, parseCidrs(['10.0.0.0/8', bad])]).toEqual([bad, { bad }]);
    }
    expect('ranges' in parseCidrs([])).toBe(true);
  });

  it('within the window after the send (or before its recorded time); never without a send time', () => {
    const at = (ms: number) => new Date(sentAt.getTime() + ms);
    expect(prefetchReason(hit({ at: at(0) }), noRanges)).toBe('soon_after_send');
    expect(prefetchReason(hit({ at: at(9_999) }), noRanges)).toBe('soon_after_send');
    expect(prefetchReason(hit({ at: at(-5_000) }), noRanges)).toBe('soon_after_send');
    expect(prefetchReason(hit({ at: at(10_000) }), noRanges)).toBeNull();
    expect(prefetchReason(hit({ at: at(1_000), sentAt: null }), noRanges)).toBeNull();
    expect(prefetchReason(hit({ at: at(59_000) }), { ...noRanges, windowMs: 60_000 })).toBe('soon_after_send');
  });

  it('unreadable addresses are no signal', () => {
    expect(prefetchReason(hit({ ip: 'not-an-ip' }), noRanges)).toBeNull();
    expect(prefetchReason(hit({ ip: undefined }), noRanges)).toBeNull();
  });

  it('signals apply in their order (HEAD, agent, Apple, ranges, time)', () => {
    const parsed = parseCidrs(['17.0.0.0/8']);
    const rules = { ...noRanges, ranges: (parsed as { ranges: BlockList }).ranges };
    const soon = new Date(sentAt.getTime() + 1000);
    expect(prefetchReason(hit({ method: 'HEAD', userAgent: undefined, ip: '17.0.0.1', at: soon }), rules)).toBe('head_request');
    expect(prefetchReason(hit({ userAgent: 'curl/8', ip: '17.0.0.1', at: soon }), rules)).toBe('scanner_user_agent');
    expect(prefetchReason(hit({ ip: '17.0.0.1', at: soon }), rules)).toBe('apple_proxy');
  });
});
