import { decodeEntities, trackableUrl, trackHtml, type TrackingPlan } from '../../../core/tracking/rewrite';
import { MAX_TRACKED_LINKS } from '../../../core/tracking/token';

const UNSUB = 'https://api.example/u/abc.def';
const plan = (over: Partial<TrackingPlan> = {}): TrackingPlan => ({
  openUrl: 'https://t.example/t/o/OPEN',
  clickUrl: (i) => `https://t.example/t/c/C${i}`,
  keep: (u) => u === UNSUB,
  ...over,
});
const clicksOnly = plan({ openUrl: null });

describe('trackHtml (core/tracking/rewrite.ts)', () => {
  it('points each http(s) link at its click URL, in order, and returns the originals by index', () => {
    const html = '<p><a href="https://acme.io/a">A</a> and <A HREF=\'http://acme.io/b?x=1&amp;y=2\'>B</A></p>';
    const out = trackHtml(html, clicksOnly);
    expect(out.html).toBe('<p><a href="https://t.example/t/c/C0">A</a> and <A HREF=\'https://t.example/t/c/C1\'>B</A></p>');
    expect(out.links).toEqual(['https://acme.io/a', 'http://acme.io/b?x=1&y=2']);
  });

  it('leaves the unsubscribe link, mailto:, tel:, anchors and relative links alone', () => {
    const html = `<a href="${UNSUB}">Unsubscribe</a><a href="mailto:x@acme.io">m</a><a href="tel:+1">t</a><a href="#top">#</a><a href="/rel">r</a><a name="x">n</a>`;
    const out = trackHtml(html, clicksOnly);
    expect(out).toEqual({ html, links: [] });
  });

  it('an unquoted href gets quotes; other attributes stay', () => {
    const out = trackHtml('<a class=btn href=https://acme.io/x target=_blank>go</a>', clicksOnly);
    expect(out.html).toBe('<a class=btn href="https://t.example/t/c/C0" target=_blank>go</a>');
    expect(out.links).toEqual(['https://acme.io/x']);
  });

  it('a ">" inside a quoted attribute does not end the tag', () => {
    const out = trackHtml('<a title="a > b" href="https://acme.io/q">x</a>', clicksOnly);
    expect(out.html).toBe('<a title="a > b" href="https://t.example/t/c/C0">x</a>');
  });

  it('markup inside comments, scripts and styles, and other attributes holding "<a", are not links', () => {
    const html = '<!-- <a href="https://c.io/1"> --><style>a[href="https://c.io/2"]{}</style><script>"<a href=\\"https://c.io/3\\">"</script>'
      + '<img alt=\'<a href="https://c.io/4">\'><a href="https://acme.io/real">r</a>';
    const out = trackHtml(html, clicksOnly);
    expect(out.links).toEqual(['https://acme.io/real']);
    expect(out.html).toBe(html.replace('https://acme.io/real', 'https://t.example/t/c/C0'));
  });

  it('names other than a (abbr, area, base) and end tags are not links', () => {
    const html = '<abbr href="https://c.io/1">x</abbr><area href="https://c.io/2"><base href="https://c.io/3"></a href="https://c.io/4">';
    expect(trackHtml(html, clicksOnly)).toEqual({ html, links: [] });
  });

  it('the first href of a tag counts; its stored URL is the decoded, normalised one', () => {
    const out = trackHtml('<a href="HTTPS://Acme.IO/a b?q=&quot;x&quot;" href="https://other.io">x</a>', clicksOnly);
    expect(out.links).toEqual(['https://acme.io/a%20b?q=%22x%22']);
  });

  it('a URL with control characters is normalised by the URL parser (nothing can split the Location header)', () => {
    const out = trackHtml('<a href="https://acme.io/a&#13;&#10;Set-Cookie:x=1">x</a>', clicksOnly);
    expect(out.links).toHaveLength(1);
    expect(out.links[0]).not.toMatch(/[\r\n]/);
  });

  it('markup cut off inside a tag ends the rewriting; the rest stays as it was', () => {
    const html = '<a href="https://acme.io/1">1</a><a href="https://acme.io/2';
    const out = trackHtml(html, clicksOnly);
    expect(out.links).toEqual(['https://acme.io/1']);
    expect(out.html).toBe('<a href="https://t.example/t/c/C0">1</a><a href="https://acme.io/2');
  });

  it(`tracks at most ${MAX_TRACKED_LINKS} links; the others stay direct`, () => {
    const html = Array.from({ length: MAX_TRACKED_LINKS + 5 }, (_, i) => `<a href="https://acme.io/${i}">${i}</a>`).join('');
    const out = trackHtml(html, clicksOnly);
    expect(out.links).toHaveLength(MAX_TRACKED_LINKS);
    expect(out.html).toContain(`<a href="https://acme.io/${MAX_TRACKED_LINKS}">`);
  });

  it('the pixel goes before the last </body>, or at the end; links stay when clicks are off', () => {
    const withBody = trackHtml('<html><body><a href="https://acme.io">x</a></BODY></html>', plan({ clickUrl: null }));
    expect(withBody.html).toBe('<html><body><a href="https://acme.io">x</a><img src="https://t.example/t/o/OPEN" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0"></BODY></html>');
    expect(withBody.links).toEqual([]);
    expect(trackHtml('<p>hi</p>', plan({ clickUrl: null })).html).toMatch(/^<p>hi<\/p><img src="https:\/\/t\.example\/t\/o\/OPEN"/);
  });

  it('nothing asked, nothing changed', () => {
    const html = '<a href="https://acme.io">x</a>';
    expect(trackHtml(html, plan({ openUrl: null, clickUrl: null }))).toEqual({ html, links: [] });
  });

  it('adversarial markup is handled in one pass and answers', () => {
    for (const html of ['<a '.repeat(50_000), '<a href="'.repeat(20_000), '<!--'.repeat(30_000), '</'.repeat(40_000), '<a href=x>'.repeat(20_000), '<'.repeat(60_000)]) {
      const out = trackHtml(html, clicksOnly);
      expect(out.html.length).toBeGreaterThanOrEqual(html.length);
    }
  });
});

describe('decodeEntities and trackableUrl', () => {
  it('decodes the references an href holds', () => {
    expect(decodeEntities('a&amp;b&lt;&gt;&quot;&#39;&apos;&#x41;&#65;&unknown;&#0;&#xD800;')).toBe('a&b<>"\'\'AA&unknown;&#0;&#xD800;');
  });
  it('takes absolute http(s) URLs only', () => {
    expect(trackableUrl(' https://acme.io ')).toBe('https://acme.io/');
    for (const bad of ['javascript:alert(1)', 'ftp://acme.io', '//acme.io', 'https://', 'data:text/html,x', 'https://exa mple.com']) {
      expect([bad, trackableUrl(bad)]).toEqual([bad, null]);
    }
  });
});
