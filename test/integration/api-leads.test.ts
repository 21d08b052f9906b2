import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { normaliseHeader } from '../../services/lead-import';
import { bearer, json, newClient, startStack, type Stack } from '../helpers/stack';

type Report = { accepted: number; duplicates: number; suppressed: number; invalid: { row: number; message: string }[] };
type ErrorBody = { error: { code: string; message: string; details?: { path: string; message: string }[] } };

const fixture = (name: string) => readFileSync(join(__dirname, '../fixtures/csv', name));

describe('POST /v1/campaigns/:id/leads (JSON and CSV)', () => {
  let stack: Stack;
  let client: { id: string; apiKey: string };
  let templateId: string;

  beforeAll(async () => {
    stack = await startStack();
    client = await newClient(stack);
    const tpl = await stack.app.inject({
      method: 'POST', url: '/v1/templates', headers: bearer(client.apiKey),
      payload: { name: 't', subject: 'Hi {{firstName|there}}', text: 'Hello {{firstName|there}}. Unsubscribe: {{unsubscribeUrl}}' },
    });
    expect(tpl.statusCode).toBe(201);
    templateId = json<{ id: string }>(tpl).id;
  });
  afterAll(() => stack?.close());

  async function newCampaign(key = client.apiKey, tpl = templateId): Promise<string> {
    const res = await stack.app.inject({
      method: 'POST', url: '/v1/campaigns', headers: bearer(key),
      payload: { name: `c-${randomUUID().slice(0, 8)}`, steps: [{ templateId: tpl, delayDays: 0 }], mailboxes: { pool: 'p' } },
    });
    expect(res.statusCode).toBe(201);
    return json<{ id: string }>(res).id;
  }

  const uploadCsv = (campaignId: string, csv: string | Buffer, key = client.apiKey) =>
    stack.app.inject({
      method: 'POST', url: `/v1/campaigns/${campaignId}/leads`,
      headers: { ...bearer(key), 'content-type': 'text/csv; charset=utf-8' }, payload: csv,
    });

  async function stored(campaignId: string) {
    const { rows } = await stack.pool.query<{ email: string; vars: Record<string, string>; status: string }>(
      'SELECT email, vars, status FROM leads WHERE campaign_id = $1 ORDER BY email', [campaignId]);
    return rows;
  }
  const countLeads = async (campaignId: string) =>
    (await stack.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM leads WHERE campaign_id = $1', [campaignId])).rows[0]!.n;

  it('normalises headers to camelCase identifiers', () => {
    expect(normaliseHeader('First Name')).toBe('firstName');
    expect(normaliseHeader('FIRST_NAME')).toBe('firstName');
    expect(normaliseHeader('companyName')).toBe('companyName');
    expect(normaliseHeader('  Ville/Région ')).toBe('villeRegion');
    expect(normaliseHeader('2nd line')).toBe('_2ndLine');
    expect(normaliseHeader('%%')).toBe('');
  });

  it('reads a CSV with a BOM, CRLF, quoted commas and newlines, blank lines, extra columns as vars', async () => {
    const id = await newCampaign();
    const res = await uploadCsv(id, fixture('quoted-bom-crlf.csv'));
    expect(res.statusCode).toBe(200);
    expect(json<Report>(res)).toEqual({ accepted: 3, duplicates: 0, suppressed: 0, invalid: [] });
    expect(await stored(id)).toEqual([
      { email: 'ada@example.com', vars: { firstName: 'Ada', company: 'Lovelace, Babbage & Co', note: 'line one\r\nline two' }, status: 'pending' },
      { email: 'grace@example.com', vars: { firstName: 'Grace', company: 'Navy', note: 'said "hello"' }, status: 'pending' },
      { email: 'linus@example.com', vars: { firstName: 'Linus', company: '', note: '' }, status: 'pending' },
    ]);
  });

  it('accepts Email as the header and reports a bad email on data row 7 as row 7 (blank lines not counted)', async () => {
    const id = await newCampaign();
    const lines = ['Email,First Name'];
    for (let i = 1; i <= 9; i++) {
      if (i === 3) lines.push('', '   '); // blank lines between data rows 2 and 3: not counted
      lines.push(i === 7 ? 'not-an-email,Seven' : `p${i}@example.com,P${i}`);
    }
    const res = await uploadCsv(id, `${lines.join('\n')}\n`);
    expect(res.statusCode).toBe(200);
    const report = json<Report>(res);
    expect(report.accepted).toBe(8);
    expect(report.invalid).toHaveLength(1);
    expect(report.invalid[0]!.row).toBe(7);
    expect(report.invalid[0]!.message).toMatch(/email.*valid email.*not-an-email/);
  });

  it('counts duplicates within the upload and against the campaign, and suppressed addresses', async () => {
    const id = await newCampaign();
    await stack.pool.query(`INSERT INTO suppressions (client_id, email, reason) VALUES ($1, 'x@y.zz', 'manual') ON CONFLICT DO NOTHING`, [client.id]);
    const first = await uploadCsv(id, 'email,name\na@example.com,A\nA@Example.com,A again\nX@Y.ZZ,Suppressed\nb@example.com,B\n');
    expect(json<Report>(first)).toEqual({ accepted: 2, duplicates: 1, suppressed: 1, invalid: [] });
    const second = await uploadCsv(id, 'email\nb@example.com\nc@example.com\n');
    expect(json<Report>(second)).toEqual({ accepted: 1, duplicates: 1, suppressed: 0, invalid: [] });
    const rows = await stored(id);
    expect(rows.map((r) => [r.email, r.status])).toEqual([
      ['a@example.com', 'pending'], ['b@example.com', 'pending'], ['c@example.com', 'pending'], ['x@y.zz', 'suppressed'],
    ]);
  });

  it('a CSV without an email column is a 400 naming email, nothing written', async () => {
    const id = await newCampaign();
    const res = await uploadCsv(id, 'name,company\nAda,Co\n');
    expect(res.statusCode).toBe(400);
    const body = json<ErrorBody>(res);
    expect(body.error.code).toBe('validation_failed');
    expect(body.error.details?.map((d) => d.path)).toContain('email');
    expect(await countLeads(id)).toBe(0);
  });

  it('a malformed CSV (unclosed quote) is a 400 naming the row and line, nothing written', async () => {
    const id = await newCampaign();
    const res = await uploadCsv(id, 'email,name\na@example.com,A\nb@example.com,B\nc@example.com,"unclosed\n');
    expect(res.statusCode).toBe(400);
    const body = json<ErrorBody>(res);
    expect(body.error.message).toMatch(/data row 3/);
    expect(body.error.message).toMatch(/line \d+/);
    expect(await countLeads(id)).toBe(0);
  });

  it("another client's campaign is a 404 for both JSON and CSV", async () => {
    const other = await newClient(stack);
    const id = await newCampaign();
    expect((await uploadCsv(id, 'email\na@example.com\n', other.apiKey)).statusCode).toBe(404);
    const j = await stack.app.inject({
      method: 'POST', url: `/v1/campaigns/${id}/leads`, headers: bearer(other.apiKey), payload: { leads: [{ email: 'a@example.com' }] },
    });
    expect(j.statusCode).toBe(404);
    expect(json<ErrorBody>(j).error.code).toBe('not_found');
    expect(await countLeads(id)).toBe(0);
  });

  it('a cancelled campaign takes no leads: 409', async () => {
    const id = await newCampaign();
    await stack.pool.query(`UPDATE campaigns SET status = 'cancelled' WHERE id = $1`, [id]);
    const res = await uploadCsv(id, 'email\na@example.com\n');
    expect(res.statusCode).toBe(409);
    expect(json<ErrorBody>(res).error.code).toBe('conflict');
    expect(await countLeads(id)).toBe(0);
  });

  it('JSON uploads still work and report bad rows counted from 1, as in a CSV, naming the JSON path', async () => {
    const id = await newCampaign();
    const res = await stack.app.inject({
      method: 'POST', url: `/v1/campaigns/${id}/leads`, headers: bearer(client.apiKey),
      payload: { leads: [{ email: 'j@example.com', vars: { firstName: 'J' } }, { email: 'nope' }, { email: 'J@example.com' }] },
    });
    expect(res.statusCode).toBe(200);
    expect(json<Report>(res)).toMatchObject({ accepted: 1, duplicates: 1, suppressed: 0, invalid: [{ row: 2, message: expect.stringContaining('leads.1.email') }] });
    const bad = await stack.app.inject({
      method: 'POST', url: `/v1/campaigns/${id}/leads`, headers: bearer(client.apiKey), payload: { leads: [{ email: 'a@b.co', extra: 1 }] },
    });
    expect(bad.statusCode).toBe(400);
    expect(json<ErrorBody>(bad).error.details?.map((d) => d.path)).toContain('leads.0.extra');
  });

  const bigCsv = (rows: number, tag: string) => {
    const parts = ['email,First Name,Company\r\n'];
    for (let i = 0; i < rows; i++) parts.push(`lead${i}-${tag}@leads.example.org,Name ${i},"Company, ${i % 97}"\r\n`);
    return parts.join('');
  };

  it('100,001 rows is a 413 naming the limit and inserts nothing', async () => {
    const id = await newCampaign();
    const res = await uploadCsv(id, bigCsv(100_001, 'over'));
    expect(res.statusCode).toBe(413);
    const body = json<ErrorBody>(res);
    expect(body.error.code).toBe('payload_too_large');
    expect(body.error.message).toMatch(/100,000/);
    expect(await countLeads(id)).toBe(0);
  });

  // How fast: npm run bench:input (the 100,000-row case), not a timed test.
  it('100,000 rows are accepted in one upload', async () => {
    const id = await newCampaign();
    const csv = bigCsv(100_000, 'max');
    const res = await uploadCsv(id, csv);
    expect(res.statusCode).toBe(200);
    expect(json<Report>(res)).toEqual({ accepted: 100_000, duplicates: 0, suppressed: 0, invalid: [] });
    expect(await countLeads(id)).toBe(100_000);
    const { rows } = await stack.pool.query('SELECT vars FROM leads WHERE campaign_id = $1 AND email = $2', [id, 'lead99999-max@leads.example.org']);
    expect(rows[0].vars).toEqual({ firstName: 'Name 99999', company: 'Company, 89' });
  });
});
