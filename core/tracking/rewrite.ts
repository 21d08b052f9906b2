/**
 * Open and click tracking in an HTML body, pure and linear in its length:
 * every `<a href>` to an http(s) URL (but the ones `keep` names, such as the
 * unsubscribe link) is pointed at a click URL for its index, and a 1x1 pixel
 * is added before `</body>` (or at the end). The links are returned in index
 * order: the send stores them, and a click is redirected to the one stored
 * under its token's index, never to a URL taken from the request.
 *
 * One pass over the markup: comments, tags and their quoted attribute values
 * are each stepped over once, and the contents of script, style, textarea and
 * title elements are not markup. Markup cut off mid-tag (an unclosed quote or
 * tag) ends the rewriting; what follows stays as it was.
 */
import { MAX_TRACKED_LINKS } from './token';

export interface TrackingPlan {
  /** The open pixel's URL; null: no pixel. */
  openUrl: string | null;
  /** The click URL of link `index`; null: links are left as they are. */
  clickUrl: ((index: number) => string) | null;
  /** Links to leave untouched (compared after entity decoding, e.g. the unsubscribe URL). */
  keep: (url: string) => boolean;
}

export interface TrackedHtml {
  html: string;
  /** The original URLs of the rewritten links, by index (normalised with the URL parser). */
  links: string[];
}

const RAW_TEXT = new Set(['script', 'style', 'textarea', 'title']);
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

/** The character references an attribute value may hold, decoded (what a browser would follow). */
export function decodeEntities(v: string): string {
  return v.replace(/&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,6});/g, (all, ref: string) => {
    if (ref[0] !== '#') return NAMED[ref.toLowerCase()] ?? all;
    const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : all;
  });
}

const attrEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** An absolute http(s) URL, normalised by the WHATWG parser (no control characters survive it), or null. */
export function trackableUrl(raw: string): string | null {
  const v = raw.trim();
  if (!/^https?:\/\//i.test(v)) return null;
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}

const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f';
const isLetter = (c: string | undefined) => c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));

interface Tag {
  name: string;
  /** Index just past the tag's `>`. */
  end: number;
  /** The href attribute's value: where it starts and ends in the source, whether quoted. */
  href: { start: number; end: number; quoted: boolean } | null;
}

/** Reads the start or end tag at `lt` (html[lt] is '<', a letter or '/' follows); null when it never closes. */
function readTag(html: string, lt: number): Tag | null {
  let p = lt + 1;
  if (html[p] === '/') p++;
  const nameStart = p;
  while (p < html.length && !isSpace(html[p]) && html[p] !== '/' && html[p] !== '>') p++;
  const name = html.slice(nameStart, p).toLowerCase();
  let href: Tag['href'] = null;
  for (;;) {
    while (p < html.length && (isSpace(html[p]) || html[p] === '/')) p++;
    if (p >= html.length) return null;
    if (html[p] === '>') return { name, end: p + 1, href };
    const attrStart = p;
    while (p < html.length && !isSpace(html[p]) && html[p] !== '/' && html[p] !== '>' && html[p] !== '=') p++;
    const attr = html.slice(attrStart, p).toLowerCase();
    while (p < html.length && isSpace(html[p])) p++;
    if (html[p] !== '=') continue;
    p++;
    while (p < html.length && isSpace(html[p])) p++;
    const q = html[p];
    let value: { start: number; end: number; quoted: boolean };
    if (q === '"' || q === "'") {
      const close = html.indexOf(q, p + 1);
      if (close < 0) return null;
      value = { start: p + 1, end: close, quoted: true };
      p = close + 1;
    } else {
      const start = p;
      while (p < html.length && !isSpace(html[p]) && html[p] !== '>') p++;
      value = { start, end: p, quoted: false };
    }
    if (attr === 'href' && href === null) href = value;
  }
}

/** Index of `</name` (any letter case) at or after `from`, or -1. */
function endTagOf(html: string, name: string, from: number): number {
  for (let i = html.indexOf('</', from); i >= 0; i = html.indexOf('</', i + 2)) {
    if (html.slice(i + 2, i + 2 + name.length).toLowerCase() === name) return i;
  }
  return -1;
}

/** Where the pixel goes: before the last `</body` (any case), else at the end. */
function pixelAt(html: string): number {
  let at = -1;
  for (const m of html.matchAll(/<\/body/gi)) at = m.index ?? at;
  return at < 0 ? html.length : at;
}

export function trackHtml(html: string, plan: TrackingPlan): TrackedHtml {
  const links: string[] = [];
  let out = '';
  let copied = 0;
  if (plan.clickUrl) {
    let i = 0;
    while (i < html.length) {
      const lt = html.indexOf('<', i);
      if (lt < 0) break;
      if (html.startsWith('<!--', lt)) {
        const close = html.indexOf('-->', lt + 4);
        if (close < 0) break;
        i = close + 3;
        continue;
      }
      const next = html[lt + 1];
      if (!isLetter(next) && !(next === '/' && isLetter(html[lt + 2]))) {
        i = lt + 1;
        continue;
      }
      const tag = readTag(html, lt);
      if (!tag) break;
      i = tag.end;
      if (next !== '/' && RAW_TEXT.has(tag.name)) {
        const close = endTagOf(html, tag.name, i);
        if (close < 0) break;
        i = close;
        continue;
      }
      if (tag.name !== 'a' || next === '/' || !tag.href || links.length >= MAX_TRACKED_LINKS) continue;
      const decoded = decodeEntities(html.slice(tag.href.start, tag.href.end));
      const url = trackableUrl(decoded);
      if (!url || plan.keep(decoded.trim()) || plan.keep(url)) continue;
      const quoted = `${attrEscape(plan.clickUrl(links.length))}`;
      out += html.slice(copied, tag.href.start) + (tag.href.quoted ? quoted : `"${quoted}"`);
      copied = tag.href.end;
      links.push(url);
    }
  }
  let body = out + html.slice(copied);
  if (plan.openUrl) {
    const at = pixelAt(body);
    const pixel = `<img src="${attrEscape(plan.openUrl)}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0">`;
    body = `${body.slice(0, at)}${pixel}${body.slice(at)}`;
  }
  return { html: body, links };
}
