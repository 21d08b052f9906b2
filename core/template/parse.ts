/**
 * Template syntax: a pure tokenizer and parser, shared by the validator (which
 * reports every syntax issue with its position) and the renderer (which never
 * throws: it renders whatever the parser recovered, so a template stored
 * before validation existed still sends).
 *
 * Syntax:
 * - `{{name}}` and `{{name|default}}`: a placeholder. Names are letters, digits
 *   and `_`, not starting with a digit; spaces around the name are allowed; the
 *   default runs to the closing `}}` (trimmed) and may not contain `{`, `}` or a
 *   line break.
 * - `{a|b|c}`: spintax, one option chosen per lead. A brace group without a
 *   top-level `|` is literal text, braces included (so CSS in HTML bodies,
 *   `p { margin: 0 }`, passes through untouched).
 * - Placeholders may appear inside spintax options: `{Hi {{firstName|there}}|Hello}`.
 * - Nested spintax is ALLOWED: `{Hi|Hello {there|friend}}`. Each spintax group
 *   is numbered in source order (by its opening brace) and chooses from the
 *   lead seed and that number alone, independently of its enclosing group.
 *   Nesting depth (brace groups inside brace groups) is capped at MAX_DEPTH.
 * - `{{{name}}|x}`: three opening braces are a group brace and then a placeholder.
 *
 * Linear time in the source, whatever it holds (a template is client input):
 * one pass, no backtracking regex, at most MAX_ISSUES issues kept (the
 * earliest; `issueCount` counts them all), and positions computed from one
 * line index instead of a rescan per issue.
 */

export type Node =
  | { kind: 'text'; value: string }
  | { kind: 'var'; name: string; fallback: string | undefined; offset: number; raw: string }
  | { kind: 'group'; spin: boolean; options: Node[][]; offset: number; index: number };

export type SyntaxIssueKind =
  | 'unclosed_placeholder'
  | 'unopened_placeholder'
  | 'invalid_placeholder'
  | 'unclosed_brace'
  | 'unopened_brace'
  | 'empty_option'
  | 'too_deep';

export interface SyntaxIssue {
  kind: SyntaxIssueKind;
  offset: number;
  /** Without the position; the validator adds "at line L, column C". */
  message: string;
}

export interface ParsedTemplate {
  nodes: Node[];
  /** The first MAX_ISSUES issues by offset. */
  issues: SyntaxIssue[];
  /** Every issue found, including those not kept. */
  issueCount: number;
}

export const MAX_DEPTH = 16;
/** Issues kept (and reported) per template at most. */
export const MAX_ISSUES = 50;
export const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Sticky pieces of a placeholder body: `\s*name\s*(|default)?`, each matched once from a known position.
const SPACES = /\s*/y;
const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;

/**
 * The issues with the smallest offsets, at most `max`, in offset order (equal
 * offsets in the order they were added, as a stable sort would leave them).
 * Adding is O(max) at worst, so a source with an issue per character stays linear.
 */
export class IssueList<T extends { offset?: number }> {
  readonly items: T[] = [];
  count = 0;

  constructor(private readonly max = MAX_ISSUES) {}

  add(issue: T): void {
    this.count++;
    const items = this.items;
    const offset = issue.offset ?? 0;
    if (items.length === this.max && offset >= (items[items.length - 1]!.offset ?? 0)) return;
    let k = items.length;
    while (k > 0 && (items[k - 1]!.offset ?? 0) > offset) k--;
    items.splice(k, 0, issue);
    if (items.length > this.max) items.pop();
  }
}

interface Frame {
  offset: number;
  options: Node[][];
  /** Offset where each option starts (after `{` or `|`). */
  starts: number[];
}

export type Position = { line: number; column: number };

/**
 * Line and column lookups for one source: the line starts are found once (one
 * pass), then each lookup is a binary search. Lines end at LF.
 */
export function lineIndex(source: string): (offset: number) => Position {
  let starts: number[] | undefined;
  return (offset) => {
    if (!starts) {
      starts = [0];
      for (let i = source.indexOf('\n'); i >= 0; i = source.indexOf('\n', i + 1)) starts.push(i + 1);
    }
    const at = Math.max(0, Math.min(offset, source.length));
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= at) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - starts[lo]! + 1 };
  };
}

/** 1-based line and column (in UTF-16 code units, as editors count) of a 0-based offset. */
export function positionOf(source: string, offset: number): Position {
  return lineIndex(source)(offset);
}

/** `{{ name | default }}` between `start` and `end` (the body, braces excluded), or null when it is not one. */
function placeholderBody(source: string, start: number, end: number): { name: string; fallback: string | undefined } | null {
  SPACES.lastIndex = start;
  SPACES.exec(source);
  NAME.lastIndex = SPACES.lastIndex;
  const name = NAME.exec(source);
  if (!name || NAME.lastIndex > end) return null;
  SPACES.lastIndex = NAME.lastIndex;
  SPACES.exec(source);
  const after = Math.min(SPACES.lastIndex, end);
  if (after === end) return { name: name[0], fallback: undefined };
  if (source.charCodeAt(after) !== 124 /* | */) return null;
  return { name: name[0], fallback: source.slice(after + 1, end).trim() };
}

function pushText(into: Node[], value: string): void {
  if (value === '') return;
  const last = into[into.length - 1];
  if (last?.kind === 'text') last.value += value;
  else into.push({ kind: 'text', value });
}

/** Where a placeholder opened at `at` closes (the index of its `}}`), or -1. */
function placeholderEnd(s: string, at: number): number {
  for (let j = at; j < s.length; j++) {
    const c = s[j];
    if (c === '}') return s[j + 1] === '}' ? j : -1;
    if (c === '{' || c === '\n' || c === '\r') return -1;
  }
  return -1;
}

export function parseTemplate(source: string): ParsedTemplate {
  const issues = new IssueList<SyntaxIssue>();
  const root: Frame = { offset: -1, options: [[]], starts: [0] };
  const stack: Frame[] = [root];
  const spinGroups: Extract<Node, { kind: 'group' }>[] = [];
  const out = () => {
    const top = stack[stack.length - 1]!;
    return top.options[top.options.length - 1]!;
  };

  let i = 0;
  const n = source.length;
  while (i < n) {
    const c = source[i];
    if (c === '{') {
      if (source[i + 1] === '{' && source[i + 2] !== '{') {
        const end = placeholderEnd(source, i + 2);
        if (end < 0) {
          issues.add({ kind: 'unclosed_placeholder', offset: i, message: 'unbalanced {{ (no closing }} on the same line)' });
          pushText(out(), '{{');
          i += 2;
          continue;
        }
        const raw = source.slice(i, end + 2);
        const m = placeholderBody(source, i + 2, end);
        if (!m) {
          const shown = raw.length > 80 ? `${raw.slice(0, 40)}…${raw.slice(-20)}` : raw;
          issues.add({ kind: 'invalid_placeholder', offset: i, message: `invalid placeholder ${shown} (a name is letters, digits and _, not starting with a digit)` });
          pushText(out(), raw);
        } else {
          out().push({ kind: 'var', name: m.name, fallback: m.fallback, offset: i, raw });
        }
        i = end + 2;
        continue;
      }
      if (stack.length > MAX_DEPTH) {
        issues.add({ kind: 'too_deep', offset: i, message: `braces nested more than ${MAX_DEPTH} deep` });
        pushText(out(), '{');
        i++;
        continue;
      }
      stack.push({ offset: i, options: [[]], starts: [i + 1] });
      i++;
      continue;
    }
    if (c === '}') {
      if (stack.length > 1) {
        const frame = stack.pop()!;
        const spin = frame.options.length > 1;
        const group: Node = { kind: 'group', spin, options: frame.options, offset: frame.offset, index: -1 };
        if (spin) {
          spinGroups.push(group);
          frame.options.forEach((opt, k) => {
            if (opt.length === 0) {
              issues.add({ kind: 'empty_option', offset: frame.starts[k]!, message: `empty spintax option (option ${k + 1} of ${frame.options.length})` });
            }
          });
        }
        out().push(group);
        i++;
        continue;
      }
      if (source[i + 1] === '}') {
        issues.add({ kind: 'unopened_placeholder', offset: i, message: 'unbalanced }} (no opening {{)' });
        pushText(out(), '}}');
        i += 2;
      } else {
        issues.add({ kind: 'unopened_brace', offset: i, message: 'unbalanced } (no opening {)' });
        pushText(out(), '}');
        i++;
      }
      continue;
    }
    if (c === '|' && stack.length > 1) {
      const top = stack[stack.length - 1]!;
      top.options.push([]);
      top.starts.push(i + 1);
      i++;
      continue;
    }
    let j = i + 1;
    while (j < n && source[j] !== '{' && source[j] !== '}' && source[j] !== '|') j++;
    pushText(out(), source.slice(i, j));
    i = j;
  }

  // Unclosed groups: report each, and keep their content as literal text.
  while (stack.length > 1) {
    const frame = stack.pop()!;
    issues.add({ kind: 'unclosed_brace', offset: frame.offset, message: 'unbalanced { (spintax not closed with })' });
    const into = out();
    pushText(into, '{');
    frame.options.forEach((opt, k) => {
      if (k > 0) pushText(into, '|');
      for (const node of opt) {
        if (node.kind === 'text') pushText(into, node.value);
        else into.push(node);
      }
    });
  }

  spinGroups.sort((a, b) => a.offset - b.offset).forEach((g, k) => (g.index = k));
  return { nodes: root.options[0]!, issues: issues.items, issueCount: issues.count };
}

/** Every placeholder in the tree, in source order, including those in spintax options not chosen. */
export function placeholders(nodes: Node[]): Extract<Node, { kind: 'var' }>[] {
  const found: Extract<Node, { kind: 'var' }>[] = [];
  const walk = (list: Node[]) => {
    for (const node of list) {
      if (node.kind === 'var') found.push(node);
      else if (node.kind === 'group') node.options.forEach(walk);
    }
  };
  walk(nodes);
  return found.sort((a, b) => a.offset - b.offset);
}

/** True when `name` is rendered whatever the spintax picks (outside spintax, or in every option). */
export function alwaysRenders(nodes: Node[], name: string): boolean {
  return nodes.some((node) => {
    if (node.kind === 'var') return node.name === name;
    if (node.kind === 'group') return node.options.every((opt) => alwaysRenders(opt, name));
    return false;
  });
}
