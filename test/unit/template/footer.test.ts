import { appendFooter } from '../../../core/template/footer';

const url = 'https://mail.example.com/u/tok.en?x=1&y=2';
const address = 'ACME Ltd\n1 Main St\nSpringfield';

describe('appendFooter', () => {
  it('appends the address and the unsubscribe link when the text lacks it', () => {
    expect(appendFooter({ text: 'Hi.\n\n' }, { physicalAddress: address, unsubscribeUrl: url })).toEqual({
      text: `Hi.\n\nACME Ltd\n1 Main St\nSpringfield\nUnsubscribe: ${url}\n`,
      html: undefined,
    });
  });

  it('appends only the address when the text already has the link', () => {
    const out = appendFooter({ text: `Hi. Opt out: ${url}` }, { physicalAddress: address, unsubscribeUrl: url });
    expect(out.text).toBe(`Hi. Opt out: ${url}\n\n${address}\n`);
  });

  it('puts the html footer inside <body>, escaped, with a link only when missing', () => {
    const out = appendFooter({ text: 'x', html: '<html><body><p>Hi</p></body></html>' }, { physicalAddress: 'A & B\nStreet', unsubscribeUrl: url });
    expect(out.html).toBe(
      '<html><body><p>Hi</p><div class="email-footer" style="margin-top:24px;font-size:12px;color:#666">A &amp; B<br>Street<br>' +
        '<a href="https://mail.example.com/u/tok.en?x=1&amp;y=2">Unsubscribe</a></div>\n</body></html>',
    );
    const withLink = appendFooter({ text: 'x', html: '<p><a href="https://mail.example.com/u/tok.en?x=1&amp;y=2">u</a></p>' }, { physicalAddress: 'A', unsubscribeUrl: url });
    expect(withLink.html).not.toContain('Unsubscribe</a>');
    expect(withLink.html).toMatch(/<\/p>\n<div class="email-footer"[^>]*>A<\/div>$/);
  });

  it('without an address, adds only a missing link; with both present, changes nothing', () => {
    expect(appendFooter({ text: `bye ${url}`, html: `<a href="${url}">u</a>` }, { physicalAddress: null, unsubscribeUrl: url })).toEqual({
      text: `bye ${url}`,
      html: `<a href="${url}">u</a>`,
    });
    expect(appendFooter({ text: 'bye' }, { physicalAddress: '  ', unsubscribeUrl: url }).text).toBe(`bye\n\nUnsubscribe: ${url}\n`);
  });

  it('is deterministic', () => {
    const a = appendFooter({ text: 't', html: '<p>h</p>' }, { physicalAddress: address, unsubscribeUrl: url });
    expect(appendFooter({ text: 't', html: '<p>h</p>' }, { physicalAddress: address, unsubscribeUrl: url })).toEqual(a);
  });
});
