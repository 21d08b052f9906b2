import { randomUUID } from 'node:crypto';
import { bearer, json, newClient, startStack, type Stack } from '../helpers/stack';

type ErrorBody = { error: { code: string; message: string; details: { path: string; message: string }[] } };
type Preview = { subject: string; text: string; html: string | null };

describe('templates API: validation and preview', () => {
  let stack: Stack;
  let client: { id: string; apiKey: string };

  beforeAll(async () => {
    stack = await startStack();
    client = await newClient(stack);
  });
  afterAll(() => stack?.close());

  const templateCount = async () => (await stack.pool.query('SELECT count(*)::int AS n FROM templates')).rows[0].n as number;
  const create = (payload: object, key = client.apiKey) => stack.app.inject({ method: 'POST', url: '/v1/templates', headers: bearer(key), payload });
  const good = {
    name: 'intro',
    subject: '{Quick question|Hello} for {{company|your team}}',
    text: '{Hi|Hello|Hey} {{firstName|there}},\n{quick|short} {note|question} about {{plan}}.\n{{senderName}}\nUnsubscribe: {{unsubscribeUrl}}',
    html: '<p>{Hi|Hello|Hey} {{firstName|there}}</p><p>{{company}}</p><a href="{{unsubscribeUrl}}">Unsubscribe</a>',
    variables: ['plan'],
  };

  async function expectRejected(payload: object, expected: { path: string; message: RegExp }[]) {
    const before = await templateCount();
    const res = await create(payload);
    expect(res.statusCode).toBe(400);
    const body = json<ErrorBody>(res);
    expect(body.error.code).toBe('validation_failed');
    for (const e of expected) expect(body.error.details).toContainEqual({ path: e.path, message: expect.stringMatching(e.message) });
    expect(await templateCount()).toBe(before);
    return body;
  }

  it('creates a valid template and echoes its declared variables', async () => {
    const res = await create(good);
    expect(res.statusCode).toBe(201);
    expect(json(res)).toMatchObject({ name: 'intro', subject: good.subject, text: good.text, html: good.html, variables: ['plan'] });
  });

  it('an unknown placeholder is a 400 naming the field and the position, and nothing is stored', async () => {
    const body = await expectRejected(
      { name: 't', subject: 's', text: 'Hello,\nHi my {{frstName}}!\n{{unsubscribeUrl}}' },
      [{ path: 'text', message: /^unknown placeholder \{\{frstName\}\} at line 2, column 7$/ }],
    );
    expect(body.error.details).toHaveLength(1);
  });

  it('a custom variable is unknown unless declared', async () => {
    await expectRejected({ ...good, variables: undefined }, [{ path: 'text', message: /unknown placeholder \{\{plan\}\} at line 2, column 37/ }]);
  });

  it('bad spintax is a 400: unbalanced braces and empty options', async () => {
    await expectRejected(
      { name: 't', subject: '{Hi|Hello', text: '{a||b} {{unsubscribeUrl}}', html: '<p>x}</p>{{unsubscribeUrl}}' },
      [
        { path: 'subject', message: /unbalanced \{ .* at line 1, column 1$/ },
        { path: 'text', message: /empty spintax option .* at line 1, column 4$/ },
        { path: 'html', message: /unbalanced \} .* at line 1, column 5$/ },
      ],
    );
  });

  it('unbalanced {{ is a 400', async () => {
    await expectRejected({ name: 't', subject: 'Hi {{firstName', text: '{{unsubscribeUrl}}' }, [{ path: 'subject', message: /unbalanced \{\{ .* at line 1, column 4$/ }]);
  });

  it('a missing unsubscribe link is a 400, in text and in html', async () => {
    await expectRejected({ name: 't', subject: 's', text: 'hello' }, [{ path: 'text', message: /unsubscribeUrl/ }]);
    await expectRejected({ name: 't', subject: 's', text: 'hi {{unsubscribeUrl}}', html: '<p>hi</p>' }, [{ path: 'html', message: /unsubscribeUrl/ }]);
  });

  it('a bad variable name is a 400 naming variables.<i>', async () => {
    await expectRejected({ ...good, variables: ['plan', 'bad name'] }, [{ path: 'variables.1', message: /invalid variable name/ }]);
  });

  describe('preview', () => {
    let templateId: string;
    const preview = (lead: object, opts: { id?: string; key?: string; sender?: object } = {}) =>
      stack.app.inject({
        method: 'POST',
        url: `/v1/templates/${opts.id ?? templateId}/preview`,
        headers: bearer(opts.key ?? client.apiKey),
        payload: { lead, ...(opts.sender ? { sender: opts.sender } : {}) },
      });

    beforeAll(async () => {
      templateId = json<{ id: string }>(await create(good)).id;
    });

    it('renders the email a lead would get, with the preview unsubscribe link and HTML-escaped values', async () => {
      const res = await preview(
        { email: 'Ada@Example.com', vars: { firstName: 'Ada', company: 'R&D <Labs>', plan: 'Pro' } },
        { sender: { name: 'Sam Sender', email: 'sam@sender.example' } },
      );
      expect(res.statusCode).toBe(200);
      const p = json<Preview>(res);
      expect(p.subject).toMatch(/^(Quick question|Hello) for R&D <Labs>$/);
      expect(p.text).toMatch(/^(Hi|Hello|Hey) Ada,\n(quick|short) (note|question) about Pro\.\nSam Sender\nUnsubscribe: https:\/\/example\.invalid\/u\/preview\n?$/);
      expect(p.html).toMatch(/<p>(Hi|Hello|Hey) Ada<\/p><p>R&amp;D &lt;Labs&gt;<\/p><a href="https:\/\/example\.invalid\/u\/preview">Unsubscribe<\/a>/);
    });

    it('uses defaults when vars are missing', async () => {
      const p = json<Preview>(await preview({ email: 'nobody@example.com' }));
      expect(p.text).toMatch(/^(Hi|Hello|Hey) there,/);
      expect(p.subject).toMatch(/for your team$/);
    });

    it('is deterministic for the same lead and differs across leads for some', async () => {
      const lead = { email: 'same@example.com', vars: { firstName: 'Al' } };
      const first = json<Preview>(await preview(lead));
      for (let i = 0; i < 3; i++) expect(json<Preview>(await preview(lead))).toEqual(first);
      const others = new Set<string>();
      for (let i = 0; i < 20; i++) others.add(json<Preview>(await preview({ email: `lead${i}@example.com`, vars: { firstName: 'Al' } })).text);
      expect(others.size).toBeGreaterThan(1);
    });

    it('with a lead id, the variant follows the id rather than the address', async () => {
      const id = randomUUID();
      const a = json<Preview>(await preview({ id, email: 'one@example.com' }));
      const b = json<Preview>(await preview({ id, email: 'one@example.com' }));
      expect(b).toEqual(a);
    });

    it('another client\'s template is a 404; an unknown id is a 404', async () => {
      const other = await newClient(stack);
      const res = await preview({ email: 'x@example.com' }, { key: other.apiKey });
      expect(res.statusCode).toBe(404);
      expect(json(res)).toMatchObject({ error: { code: 'not_found' } });
      expect((await preview({ email: 'x@example.com' }, { id: randomUUID() })).statusCode).toBe(404);
    });

    it('bad preview input is a 400 naming the field', async () => {
      const res = await preview({ email: 'not-an-email' });
      expect(res.statusCode).toBe(400);
      expect(json<ErrorBody>(res).error.details.map((d) => d.path)).toContain('lead.email');
    });
  });

  it('preview appends the client\'s postal address', async () => {
    const res = await stack.app.inject({
      method: 'POST', url: '/v1/clients', headers: bearer(stack.adminKey),
      payload: { name: `addr-${randomUUID().slice(0, 8)}`, physicalAddress: 'ACME Ltd, 1 Main St, Springfield' },
    });
    const withAddress = json<{ id: string; apiKey: string }>(res);
    const t = json<{ id: string }>(await create({ name: 't', subject: 's', text: 'Hi {{unsubscribeUrl}}', html: '<p><a href="{{unsubscribeUrl}}">u</a></p>' }, withAddress.apiKey));
    const p = json<Preview>(await stack.app.inject({
      method: 'POST', url: `/v1/templates/${t.id}/preview`, headers: bearer(withAddress.apiKey), payload: { lead: { email: 'a@example.com' } },
    }));
    expect(p.text).toBe('Hi https://example.invalid/u/preview\n\nACME Ltd, 1 Main St, Springfield\n');
    expect(p.html).toContain('ACME Ltd, 1 Main St, Springfield</div>');
    expect(p.html).not.toContain('Unsubscribe</a>');
  });
});
