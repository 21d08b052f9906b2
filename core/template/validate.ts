/**
 * Template validation: syntax, known placeholders, a subject that fits one
 * header line, and the unsubscribe link. Pure; every issue names its field
 * and (where it has one) its position. Linear in the template: each field is
 * parsed once, at most MAX_ISSUES issues are kept (the earliest) and counted
 * beyond that, and positions come from one line index per field.
 */
import { codePointName, headerBreakerAt } from '../mail-headers';
import { alwaysRenders, IssueList, lineIndex, MAX_ISSUES, NAME_PATTERN, parseTemplate, placeholders, type ParsedTemplate, type SyntaxIssueKind } from './parse';

export const LEAD_FIELDS = ['email', 'firstName', 'lastName', 'fullName', 'company', 'title', 'website', 'phone', 'city', 'country'] as const;
export const SENDER_FIELDS = ['senderName', 'senderEmail'] as const;
export const UNSUBSCRIBE_FIELD = 'unsubscribeUrl';
export const STANDARD_FIELDS: readonly string[] = [...LEAD_FIELDS, ...SENDER_FIELDS, UNSUBSCRIBE_FIELD];

/** Same rule as lead vars (core/schemas/campaigns.ts), so every declared variable can be filled by a lead. */
export const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export type TemplateField = 'subject' | 'text' | 'html';
export type IssueKind = SyntaxIssueKind | 'unknown_placeholder' | 'missing_unsubscribe' | 'invalid_variable' | 'header_control_character' | 'nul_character';

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

/** Issues of a template, the first MAX_ISSUES of them, and how many there are in all. */
export interface TemplateCheck {
  issues: TemplateIssue[];
  total: number;
}

/** Syntax, placeholder and (for the subject) header issues of one field, in source order: the first MAX_ISSUES, and the total. */
export function checkField(path: TemplateField, source: string, known: ReadonlySet<string>, parsed: ParsedTemplate = parseTemplate(source)): TemplateCheck {
  const found = new IssueList<{ kind: IssueKind; offset: number; message: string }>();
  let total = parsed.issueCount;
  for (const i of parsed.issues) found.add(i);
  for (const p of placeholders(parsed.nodes)) {
    if (known.has(p.name)) continue;
    total++;
    found.add({ kind: 'unknown_placeholder', offset: p.offset, message: `unknown placeholder {{${p.name}}}` });
  }
  if (path !== 'subject') {
    // PostgreSQL cannot store U+0000 in text: refused here, not a 500 at the insert.
    const nul = source.indexOf('\u0000');
    if (nul >= 0) {
      total++;
      found.add({ kind: 'nul_character', offset: nul, message: 'must not contain a NUL character (U+0000)' });
    }
  } else {
    // A subject is one header line: a CR, LF or other control character would end it and start another header.
    const breaker = headerBreakerAt(source);
    if (breaker >= 0) {
      total++;
      found.add({ kind: 'header_control_character', offset: breaker, message: `a subject must not contain a line break or control character (${codePointName(source, breaker)})` });
    }
  }
  const position = lineIndex(source);
  const issues = found.items.map(({ kind, offset, message }): TemplateIssue => {
    const { line, column } = position(offset);
    return { path, kind, message: `${message} at line ${line}, column ${column}`, line, column, offset };
  });
  return { issues, total };
}

/**
 * All issues of a template (the first MAX_ISSUES) and their count; no issues
 * when it is valid. The unsubscribe link `{{unsubscribeUrl}}` must render in
 * text, and in html when html is given, whatever the spintax picks (outside
 * spintax, or in every option).
 */
export function checkTemplate(t: TemplateInput): TemplateCheck {
  const issues: TemplateIssue[] = [];
  let total = 0;
  const keep = (found: TemplateIssue[], count = found.length) => {
    total += count;
    for (const issue of found) if (issues.length < MAX_ISSUES) issues.push(issue);
  };
  const variables = t.variables ?? [];
  variables.forEach((v, k) => {
    if (!VARIABLE_NAME.test(v)) {
      keep([{ path: `variables.${k}`, kind: 'invalid_variable', message: `invalid variable name "${v.slice(0, 80)}" (letters, digits and _, not starting with a digit, up to 64)` }]);
    }
  });
  const known = new Set([...STANDARD_FIELDS, ...variables.filter((v) => NAME_PATTERN.test(v))]);

  const bodies: [TemplateField, string][] = [['subject', t.subject], ['text', t.text]];
  if (t.html !== undefined && t.html !== null) bodies.push(['html', t.html]);
  for (const [path, source] of bodies) {
    const parsed = parseTemplate(source);
    const field = checkField(path, source, known, parsed);
    keep(field.issues, field.total);
    if (path !== 'subject' && !alwaysRenders(parsed.nodes, UNSUBSCRIBE_FIELD)) {
      keep([{
        path,
        kind: 'missing_unsubscribe',
        message: `missing {{${UNSUBSCRIBE_FIELD}}}: every ${path} body needs an unsubscribe link outside spintax (or in every option)`,
      }]);
    }
  }
  return { issues, total };
}

/** The issues of a template (at most MAX_ISSUES, the earliest); empty when it is valid. */
export function validateTemplate(t: TemplateInput): TemplateIssue[] {
  return checkTemplate(t).issues;
}

/**
 * The lead variables a subject can render, so a value with a line break in
 * one of them can be refused at upload: every placeholder of the subjects,
 * and firstName and lastName when `fullName` is one (it falls back to them).
 */
export function headerVariables(subjects: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const subject of subjects) {
    for (const p of placeholders(parseTemplate(subject).nodes)) names.add(p.name);
  }
  if (names.has('fullName')) {
    names.add('firstName');
    names.add('lastName');
  }
  return names;
}
