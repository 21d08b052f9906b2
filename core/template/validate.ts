/**
 * Template validation: syntax, known placeholders and the unsubscribe link.
 * Pure; every issue names its field and (where it has one) its position.
 */
import { alwaysRenders, NAME_PATTERN, parseTemplate, placeholders, positionOf, type SyntaxIssueKind } from './parse';

export const LEAD_FIELDS = ['email', 'firstName', 'lastName', 'fullName', 'company', 'title', 'website', 'phone', 'city', 'country'] as const;
export const SENDER_FIELDS = ['senderName', 'senderEmail'] as const;
export const UNSUBSCRIBE_FIELD = 'unsubscribeUrl';
export const STANDARD_FIELDS: readonly string[] = [...LEAD_FIELDS, ...SENDER_FIELDS, UNSUBSCRIBE_FIELD];

/** Same rule as lead vars (core/schemas/campaigns.ts), so every declared variable can be filled by a lead. */
export const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export type TemplateField = 'subject' | 'text' | 'html';
export type IssueKind = SyntaxIssueKind | 'unknown_placeholder' | 'missing_unsubscribe' | 'invalid_variable';

export interface TemplateIssue {
  /** `subject`, `text`, `html` or `variables.<i>`. */
  path: string;
  kind: IssueKind;
  /** Human-readable, position included, e.g. `unknown placeholder {{frstName}} at line 2, column 7`. */
  message: string;
  /** 1-based; absent for issues about a whole field (a missing unsubscribe link, a bad variable name). */
  line?: number;
  column?: number;
  /** 0-based index into the field's string (UTF-16 code units). */
  offset?: number;
}

export interface TemplateInput {
  subject: string;
  text: string;
  html?: string | null;
  /** Extra placeholder names the template may use (custom CSV columns). */
  variables?: readonly string[];
}

function at(source: string, path: string, kind: IssueKind, offset: number, message: string): TemplateIssue {
  const { line, column } = positionOf(source, offset);
  return { path, kind, message: `${message} at line ${line}, column ${column}`, line, column, offset };
}

/** Syntax and placeholder issues of one field, in source order. */
export function checkField(path: TemplateField, source: string, known: ReadonlySet<string>): TemplateIssue[] {
  const { nodes, issues } = parseTemplate(source);
  const out = issues.map((i) => at(source, path, i.kind, i.offset, i.message));
  for (const p of placeholders(nodes)) {
    if (!known.has(p.name)) out.push(at(source, path, 'unknown_placeholder', p.offset, `unknown placeholder {{${p.name}}}`));
  }
  return out.sort((a, b) => (a.offset ?? 0) - (b.offset ?? 0));
}

/**
 * All issues of a template; empty when it is valid. The unsubscribe link
 * `{{unsubscribeUrl}}` must render in text, and in html when html is given,
 * whatever the spintax picks (outside spintax, or in every option).
 */
export function validateTemplate(t: TemplateInput): TemplateIssue[] {
  const issues: TemplateIssue[] = [];
  const variables = t.variables ?? [];
  variables.forEach((v, k) => {
    if (!VARIABLE_NAME.test(v)) {
      issues.push({ path: `variables.${k}`, kind: 'invalid_variable', message: `invalid variable name "${v}" (letters, digits and _, not starting with a digit, up to 64)` });
    }
  });
  const known = new Set([...STANDARD_FIELDS, ...variables.filter((v) => NAME_PATTERN.test(v))]);

  const bodies: [TemplateField, string][] = [['subject', t.subject], ['text', t.text]];
  if (t.html !== undefined && t.html !== null) bodies.push(['html', t.html]);
  for (const [path, source] of bodies) {
    issues.push(...checkField(path, source, known));
    if (path !== 'subject' && !alwaysRenders(parseTemplate(source).nodes, UNSUBSCRIBE_FIELD)) {
      issues.push({
        path,
        kind: 'missing_unsubscribe',
        message: `missing {{${UNSUBSCRIBE_FIELD}}}: every ${path} body needs an unsubscribe link outside spintax (or in every option)`,
      });
    }
  }
  return issues;
}
