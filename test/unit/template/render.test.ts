import { buildTemplateVars, escapeHtml, renderEmail, renderTemplate } from '../../../core/template/render';

const seeds = Array.from({ length: 1000 }, (_, i) => `lead-${i}`);

describe('placeholders', () => {
  it('renders values and defaults', () => {
    expect(renderTemplate('Hi {{firstName|there}}, {{ company }}.', { firstName: 'Ada', company: 'ACME' }, 's')).toBe('Hi Ada, ACME.');
    expect(renderTemplate('Hi {{firstName|there}}, {{company}}.', {}, 's')).toBe('Hi there, .');
    expect(renderTemplate('Hi {{firstName| dear friend }}', { firstName: '' }, 's')).toBe('Hi dear friend');
    expect(renderTemplate('Hi {{firstName|there}}', { firstName: null }, 's')).toBe('Hi there');
    expect(renderTemplate('{{n}} {{b}}', { n: 0, b: false }, 's')).toBe('0 false');
  });

  it('derives fullName from firstName and lastName unless given', () => {
    expect(renderTemplate('{{fullName}}', { firstName: 'Ada', lastName: 'Lovelace' }, 's')).toBe('Ada Lovelace');
    expect(renderTemplate('{{fullName}}', { firstName: 'Ada' }, 's')).toBe('Ada');
    expect(renderTemplate('{{fullName|friend}}', {}, 's')).toBe('friend');
    expect(renderTemplate('{{fullName}}', { fullName: 'Countess', firstName: 'Ada' }, 's')).toBe('Countess');
  });

  it('renders sender fields and the unsubscribe link from buildTemplateVars, which a lead cannot override', () => {
    const vars = buildTemplateVars(
      { email: 'a@x.co', vars: { firstName: 'Ada', email: 'evil@x.co', unsubscribeUrl: 'https://evil', senderName: 'Mallory' } },
      { sender: { name: 'Sam', email: 'sam@s.co' }, unsubscribeUrl: 'https://u/t' },
    );
    expect(renderTemplate('{{firstName}} {{email}} {{senderName}} <{{senderEmail}}> {{unsubscribeUrl}}', vars, 's')).toBe('Ada a@x.co Sam <sam@s.co> https://u/t');
  });

  it('does not spin or re-parse variable values', () => {
    expect(renderTemplate('{{company}}', { company: '{A|B} {{x}}' }, 's')).toBe('{A|B} {{x}}');
  });

  it('renders invalid (legacy) templates without throwing, broken syntax as literal text', () => {
    expect(renderTemplate('Hi {{firstName, {a|b', { firstName: 'Ada' }, 's')).toBe('Hi {{firstName, {a|b');
    expect(renderTemplate('p { margin: 0 } }}', {}, 's')).toBe('p { margin: 0 } }}');
  });
});

describe('spintax', () => {
  const tpl = '{Hi|Hello|Hey} {{firstName|there}}, {quick|short} {question|note}.';

  it('the same seed always renders the same output (1000 seeds)', () => {
    for (const seed of seeds) {
      const first = renderTemplate(tpl, { firstName: 'Ada' }, seed);
      expect(renderTemplate(tpl, { firstName: 'Ada' }, seed)).toBe(first);
    }
  });

  it('reaches every variant and every combination across 1000 seeds', () => {
    const seen = new Map<string, number>();
    for (const seed of seeds) {
      const out = renderTemplate(tpl, {}, seed);
      seen.set(out, (seen.get(out) ?? 0) + 1);
    }
    expect(seen.size).toBe(3 * 2 * 2);
    // Roughly uniform: each of 12 combinations about 83 times.
    for (const n of seen.values()) expect(n).toBeGreaterThan(40);
  });

  it('two 2-way groups are independent (plain FNV-1a mod 2 always paired them)', () => {
    const seen = new Set(seeds.map((s) => renderTemplate('{a|b}{c|d}', {}, s)));
    expect([...seen].sort()).toEqual(['ac', 'ad', 'bc', 'bd']);
  });

  it('keeps the same picks when only variable values change', () => {
    for (const seed of seeds.slice(0, 100)) {
      const a = renderTemplate('{x|y|z} {{firstName}} {p|q}', { firstName: 'A' }, seed);
      const b = renderTemplate('{x|y|z} {{firstName}} {p|q}', { firstName: 'B' }, seed);
      expect(a.replace(' A ', ' _ ')).toBe(b.replace(' B ', ' _ '));
    }
  });

  it('renders placeholders inside options and nested spintax; all nested variants reachable', () => {
    const seen = new Set(seeds.map((s) => renderTemplate('{Hi {{firstName|there}}|Hello {you|friend}}!', { firstName: 'Ada' }, s)));
    expect([...seen].sort()).toEqual(['Hello friend!', 'Hello you!', 'Hi Ada!']);
  });

  it('leaves brace groups without a pipe as literal text', () => {
    expect(renderTemplate('p { margin: 0 } {a}', {}, 's')).toBe('p { margin: 0 } {a}');
  });

  it('subject, text and html of one lead pick consistently per seed, and differ across leads', () => {
    const t = { subject: '{A|B}', text: '{A|B}', html: '<p>{A|B}</p>' };
    const bySeed = seeds.map((s) => renderEmail(t, {}, s));
    expect(new Set(bySeed.map((e) => e.subject)).size).toBe(2);
    for (const e of bySeed) {
      expect(e.text).toBe(e.subject);
      expect(e.html).toBe(`<p>${e.subject}</p>`);
    }
  });
});

describe('HTML escaping', () => {
  const vars = { firstName: '<script>alert("x")</script>', company: "O'Brien & Sons" };

  it('escapes variable values in html bodies only', () => {
    const e = renderEmail({ subject: 'Hi {{firstName}}', text: '{{company}}', html: '<p>{{firstName}} at {{company}}</p>' }, vars, 's');
    expect(e.html).toBe('<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; at O&#39;Brien &amp; Sons</p>');
    expect(e.subject).toBe('Hi <script>alert("x")</script>');
    expect(e.text).toBe("O'Brien & Sons");
  });

  it('does not escape the author\'s defaults or markup', () => {
    expect(renderTemplate('<b>{{firstName|<i>there</i>}}</b>', {}, 's', { html: true })).toBe('<b><i>there</i></b>');
  });

  it('escapes the unsubscribe URL in an attribute', () => {
    expect(renderTemplate('<a href="{{unsubscribeUrl}}">u</a>', { unsubscribeUrl: 'https://x/u?a=1&b=2' }, 's', { html: true })).toBe('<a href="https://x/u?a=1&amp;b=2">u</a>');
  });

  it('renderEmail leaves html undefined when the template has none', () => {
    expect(renderEmail({ subject: 's', text: 't', html: null }, {}, 's').html).toBeUndefined();
    expect(escapeHtml('&<>"\'')).toBe('&amp;&lt;&gt;&quot;&#39;');
  });
});
