import { parseTemplate, positionOf } from '../../../core/template/parse';
import { validateTemplate, type TemplateInput } from '../../../core/template/validate';

const U = '{{unsubscribeUrl}}';
const ok = (over: Partial<TemplateInput> = {}): TemplateInput => ({ subject: 'Hello', text: `Hi there.\n${U}`, ...over });
const issuesOf = (over: Partial<TemplateInput>) => validateTemplate(ok(over));
const textIssues = (text: string, variables?: string[]) =>
  validateTemplate({ subject: 's', text: `${text}\n${U}`, variables }).map(({ path, kind, message, line, column, offset }) => ({ path, kind, message, line, column, offset }));

describe('positions', () => {
  it('counts 1-based lines and columns from a 0-based offset', () => {
    const s = 'ab\ncd\r\nef';
    expect(positionOf(s, 0)).toEqual({ line: 1, column: 1 });
    expect(positionOf(s, 2)).toEqual({ line: 1, column: 3 });
    expect(positionOf(s, 3)).toEqual({ line: 2, column: 1 });
    expect(positionOf(s, 7)).toEqual({ line: 3, column: 1 });
  });

  it('reports the field, line, column and offset of an unknown placeholder', () => {
    const text = `Hello,\nHi my {{frstName}}!\n${U}`;
    expect(validateTemplate({ subject: 's', text })).toEqual([
      { path: 'text', kind: 'unknown_placeholder', message: 'unknown placeholder {{frstName}} at line 2, column 7', line: 2, column: 7, offset: 13 },
    ]);
  });

  it('names subject and html issues by their own field and position', () => {
    const issues = validateTemplate({ subject: 'Re: {{compny}}', text: `x ${U}`, html: `<p>\n  {{ttle}} <a href="${U}">u</a></p>` });
    expect(issues.map((i) => [i.path, i.line, i.column, i.offset])).toEqual([
      ['subject', 1, 5, 4],
      ['html', 2, 3, 6],
    ]);
  });
});

describe('valid templates', () => {
  it.each([
    ['plain text', 'Hi there.'],
    ['every standard field', '{{email}} {{firstName}} {{lastName}} {{fullName}} {{company}} {{title}} {{website}} {{phone}} {{city}} {{country}} {{senderName}} {{senderEmail}}'],
    ['defaults', 'Hi {{firstName|there}}, {{ company | your team }}'],
    ['a default with a pipe in it', '{{firstName|a|b}}'],
    ['spintax', '{Hi|Hello|Hey} there'],
    ['placeholders inside spintax', '{Hi {{firstName|there}}|Hello}'],
    ['nested spintax', '{Hi|Hello {there|friend}}'],
    ['literal braces without a pipe (CSS)', 'p { margin: 0 } @media (x) { p { color: red } }'],
    ['three braces: a group around a placeholder', '{{{firstName}}|you}'],
    ['a pipe outside braces', 'a | b'],
    ['unicode', 'Grüße, {{firstName|Freund}} 👋 {ja|oui}'],
  ])('%s', (_name, text) => {
    expect(textIssues(text)).toEqual([]);
  });

  it('accepts declared custom variables', () => {
    expect(textIssues('{{plan}} {{seats|10}}', ['plan', 'seats'])).toEqual([]);
    expect(textIssues('{{plan}}')).toMatchObject([{ kind: 'unknown_placeholder' }]);
  });

  it('accepts a valid HTML body', () => {
    expect(issuesOf({ html: `<html><style>p { margin: 0 }</style><body><p>{Hi|Hello} {{firstName|there}}</p><a href="${U}">unsubscribe</a></body></html>` })).toEqual([]);
  });
});

describe('every error kind', () => {
  it.each([
    ['unknown placeholder', 'Hi {{frstName}}', 'unknown_placeholder', 'unknown placeholder {{frstName}} at line 1, column 4'],
    ['unknown placeholder with a default', 'Hi {{nickname|you}}', 'unknown_placeholder', 'unknown placeholder {{nickname}} at line 1, column 4'],
    ['unclosed {{', 'Hi {{firstName, bye', 'unclosed_placeholder', 'unbalanced {{ (no closing }} on the same line) at line 1, column 4'],
    ['{{ closed on the next line', 'Hi {{firstName\n}}', 'unclosed_placeholder', 'unbalanced {{ (no closing }} on the same line) at line 1, column 4'],
    ['{{ closed by a single }', 'Hi {{firstName} x', 'unclosed_placeholder', 'unbalanced {{ (no closing }} on the same line) at line 1, column 4'],
    ['stray }}', 'Hi firstName}} x', 'unopened_placeholder', 'unbalanced }} (no opening {{) at line 1, column 13'],
    ['empty placeholder', 'Hi {{}}', 'invalid_placeholder', 'invalid placeholder {{}} (a name is letters, digits and _, not starting with a digit) at line 1, column 4'],
    ['bad placeholder name', 'Hi {{first name}}', 'invalid_placeholder', 'invalid placeholder {{first name}} (a name is letters, digits and _, not starting with a digit) at line 1, column 4'],
    ['name starting with a digit', '{{1st}}', 'invalid_placeholder', 'invalid placeholder {{1st}} (a name is letters, digits and _, not starting with a digit) at line 1, column 1'],
    ['unclosed spintax', 'x\n  {Hi|Hello there', 'unclosed_brace', 'unbalanced { (spintax not closed with }) at line 2, column 3'],
    ['stray }', 'Hi|Hello} there', 'unopened_brace', 'unbalanced } (no opening {) at line 1, column 9'],
    ['empty middle option', '{a||b}', 'empty_option', 'empty spintax option (option 2 of 3) at line 1, column 4'],
    ['empty first option', '{|a}', 'empty_option', 'empty spintax option (option 1 of 2) at line 1, column 2'],
    ['empty last option', '{a|}', 'empty_option', 'empty spintax option (option 2 of 2) at line 1, column 4'],
    ['too deep', `${'{ '.repeat(17)}x${'}'.repeat(17)}`, 'too_deep', 'braces nested more than 16 deep at line 1, column 33'],
  ])('%s', (_name, text, kind, message) => {
    const issues = textIssues(text);
    expect(issues[0]).toMatchObject({ path: 'text', kind, message });
  });

  it('reports every issue of a field, in source order', () => {
    const kinds = textIssues('{{nope}} {a||b} }').map((i) => i.kind);
    expect(kinds).toEqual(['unknown_placeholder', 'empty_option', 'unopened_brace']);
  });

  it('checks placeholders inside spintax and nested spintax', () => {
    expect(textIssues('{Hi {{frstName}}|Hello}')).toMatchObject([{ kind: 'unknown_placeholder', column: 5 }]);
    expect(textIssues('{a|{b||c}}')).toMatchObject([{ kind: 'empty_option', column: 7 }]);
  });

  it('rejects invalid declared variable names', () => {
    expect(issuesOf({ variables: ['ok_1', 'has space', '9lives'] }).map((i) => [i.path, i.kind])).toEqual([
      ['variables.1', 'invalid_variable'],
      ['variables.2', 'invalid_variable'],
    ]);
  });
});

describe('unsubscribe link', () => {
  it('is required in text', () => {
    expect(validateTemplate({ subject: 's', text: 'hello' })).toEqual([
      { path: 'text', kind: 'missing_unsubscribe', message: expect.stringContaining('{{unsubscribeUrl}}') },
    ]);
  });

  it('is required in html when html is given, not otherwise, and never in the subject', () => {
    expect(issuesOf({ html: '<p>hi</p>' })).toMatchObject([{ path: 'html', kind: 'missing_unsubscribe' }]);
    expect(issuesOf({ html: `<a href="${U}">u</a>` })).toEqual([]);
    expect(issuesOf({})).toEqual([]);
  });

  it('must render whatever the spintax picks', () => {
    expect(textIssues('').length).toBe(0);
    expect(validateTemplate({ subject: 's', text: `{Bye ${U}|Ciao}` })).toMatchObject([{ kind: 'missing_unsubscribe' }]);
    expect(validateTemplate({ subject: 's', text: `{Bye ${U}|Ciao ${U}}` })).toEqual([]);
    expect(validateTemplate({ subject: 's', text: `{Out: ${U}}` })).toEqual([]);
  });

  it('a broken placeholder does not count', () => {
    expect(validateTemplate({ subject: 's', text: '{{unsubscribeUrl' }).map((i) => i.kind)).toEqual(['unclosed_placeholder', 'missing_unsubscribe']);
  });
});

describe('parser recovery', () => {
  it('keeps what it could not parse as literal text', () => {
    const { nodes } = parseTemplate('a {b|c');
    expect(nodes).toEqual([{ kind: 'text', value: 'a {b|c' }]);
  });

  it('keeps defaults', () => {
    expect(parseTemplate('{{ firstName | there  }}').nodes).toEqual([
      { kind: 'var', name: 'firstName', fallback: 'there', offset: 0, raw: '{{ firstName | there  }}' },
    ]);
  });
});
