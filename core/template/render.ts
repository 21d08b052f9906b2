/**
 * Renders `{{var}}` and `{{var|default}}` placeholders and `{a|b|c}` spintax
 * (syntax in ./parse.ts). Spintax picks one option per lead deterministically
 * (seeded by the lead id and the group's number in the source), so a retry
 * renders byte-for-byte the same email. Rendering never throws: a template
 * that fails validation (stored before validation existed) renders what the
 * parser recovered, unbalanced braces as literal text.
 */
import { parseTemplate, type Node } from './parse';

export type TemplateVars = Record<string, string | number | boolean | null | undefined>;

export interface RenderOptions {
  /** HTML body: variable values are HTML-escaped (template text and defaults are not: they are the author's markup). */
  html?: boolean;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * FNV-1a followed by murmur3's fmix32 finalizer. Plain FNV-1a's low bit is the
 * parity of the input's low bits, so `% 2` for groups 0 and 1 of the same seed
 * always disagreed and half the combinations of two 2-way groups never occurred.
 */
export function spinHash(s: string): number {
  let h = fnv1a(s);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);

const present = (v: TemplateVars[string]): v is string | number | boolean => v !== undefined && v !== null && v !== '';

function valueOf(vars: TemplateVars, name: string): string | undefined {
  const v = vars[name];
  if (present(v)) return String(v);
  if (name === 'fullName') {
    const full = [vars.firstName, vars.lastName].filter(present).map(String).join(' ').trim();
    return full === '' ? undefined : full;
  }
  return undefined;
}

function renderNodes(nodes: Node[], vars: TemplateVars, seed: string, html: boolean): string {
  let out = '';
  for (const node of nodes) {
    if (node.kind === 'text') out += node.value;
    else if (node.kind === 'var') {
      const v = valueOf(vars, node.name);
      out += v === undefined ? (node.fallback ?? '') : html ? escapeHtml(v) : v;
    } else if (!node.spin) out += `{${renderNodes(node.options[0]!, vars, seed, html)}}`;
    else {
      const pick = node.options[spinHash(`${seed}:${node.index}`) % node.options.length]!;
      out += renderNodes(pick, vars, seed, html);
    }
  }
  return out;
}

export function renderTemplate(source: string, vars: TemplateVars, seed: string, opts: RenderOptions = {}): string {
  return renderNodes(parseTemplate(source).nodes, vars, seed, opts.html ?? false);
}

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string | undefined;
}

/** Subject, text and (when the template has one) HTML for one lead; the HTML body escapes variable values. */
export function renderEmail(t: { subject: string; text: string; html?: string | null }, vars: TemplateVars, seed: string): RenderedEmail {
  return {
    subject: renderTemplate(t.subject, vars, seed),
    text: renderTemplate(t.text, vars, seed),
    html: t.html ? renderTemplate(t.html, vars, seed, { html: true }) : undefined,
  };
}

/**
 * The variables a send renders with: the lead's own vars, then fields the
 * lead cannot override (email, sender, unsubscribe link). `fullName` falls
 * back to firstName + lastName at render time.
 */
export function buildTemplateVars(
  lead: { email: string; vars?: Record<string, unknown> | null },
  extra: { sender?: { name?: string | null; email?: string | null }; unsubscribeUrl?: string } = {},
): TemplateVars {
  const vars: TemplateVars = {};
  for (const [k, v] of Object.entries(lead.vars ?? {})) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') vars[k] = v;
  }
  vars.email = lead.email;
  if (extra.sender?.name) vars.senderName = extra.sender.name;
  if (extra.sender?.email) vars.senderEmail = extra.sender.email;
  if (extra.unsubscribeUrl) vars.unsubscribeUrl = extra.unsubscribeUrl;
  return vars;
}
