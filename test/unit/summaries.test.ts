import { MAX_SUMMARY_BYTES, clampUtf8, modeLabel, sendSummary } from '../../workflows/summaries';

describe('sendSummary (what the Web UI shows for a send activity)', () => {
  const base = { campaignName: 'Q4 founders', steps: [0], stepCount: 3, mailbox: 'anna@mail.acme.example', providers: ['ses-eu', 'sendgrid-b'], slots: 1 };

  it('names the campaign, the 1-based step, the sender mailbox and the providers in failover order', () => {
    expect(sendSummary(base)).toBe('send · campaign "Q4 founders" · step 1/3 · from anna@mail.acme.example via ses-eu → sendgrid-b');
  });

  it('counts a batch and lists the steps it mixes', () => {
    expect(sendSummary({ ...base, slots: 12, steps: [0, 2] })).toBe('12 sends · campaign "Q4 founders" · steps 1,3/3 · from anna@mail.acme.example via ses-eu → sendgrid-b');
    expect(sendSummary({ ...base, steps: [], providers: [] })).toBe('send · campaign "Q4 founders" · 3 steps · from anna@mail.acme.example');
  });

  it('keeps a long or multi-line campaign name to one short line', () => {
    const s = sendSummary({ ...base, campaignName: `Line one\n\tline two ${'x'.repeat(100)}` });
    expect(s).not.toMatch(/[\n\t]/);
    expect(s).toContain('campaign "Line one line two xxx');
    expect(/campaign "([^"]*)"/.exec(s)![1]).toHaveLength(60);
    expect(s).toContain('…"');
  });

  it("stays within the server's summary size in UTF-8 bytes, however long the names", () => {
    const long = sendSummary({ ...base, campaignName: 'Kampagne für Übersee ✉ '.repeat(5), mailbox: `${'a'.repeat(60)}@${'b'.repeat(60)}.example`, providers: ['ses-eu-west-1-dedicated', 'sendgrid-backup-account', 'mailgun-third'] });
    expect(Buffer.byteLength(long, 'utf8')).toBeLessThanOrEqual(MAX_SUMMARY_BYTES);
    expect(long.endsWith('…')).toBe(true);
    expect(long.startsWith('send · campaign "Kampagne für Übersee')).toBe(true);
  });

  it('clampUtf8 cuts on character boundaries only when needed', () => {
    expect(clampUtf8('short', 10)).toBe('short');
    expect(clampUtf8('ééééé', 10)).toBe('ééééé'); // exactly 10 bytes
    expect(clampUtf8('éééééé', 10)).toBe('ééé…'); // 6 + 3 bytes
    expect(clampUtf8('✉✉✉✉', 8)).toBe('✉…');
    expect(Buffer.byteLength(clampUtf8('😀'.repeat(100), 50), 'utf8')).toBeLessThanOrEqual(50);
  });
});

describe('dry runs and staged starts in the Web UI summaries', () => {
  const base = { campaignName: 'Q4 founders', steps: [0], stepCount: 2, mailbox: 'anna@mail.acme.example', providers: ['ses-eu'], slots: 1 };

  it('modeLabel names a dry run and a staged start (its sample, then approved); nothing for a live run', () => {
    expect(modeLabel({ runMode: 'dry-run' })).toBe('dry run');
    expect(modeLabel({ runMode: 'staged', stage: 'sample', sampleRatio: 0.01 })).toBe('staged: 1% sample');
    expect(modeLabel({ runMode: 'staged', stage: 'sample', sampleRatio: 0.125 })).toBe('staged: 12.5% sample');
    expect(modeLabel({ runMode: 'staged', stage: 'approved', sampleRatio: 0.01 })).toBe('staged: approved');
    expect(modeLabel({ runMode: 'live' })).toBeUndefined();
    expect(modeLabel({})).toBeUndefined();
  });

  it("a dry run's send summary says so first; a live one is as before", () => {
    expect(sendSummary({ ...base, mode: 'dry run' })).toBe('dry run · send · campaign "Q4 founders" · step 1/2 · from anna@mail.acme.example via ses-eu');
    expect(sendSummary(base)).toBe('send · campaign "Q4 founders" · step 1/2 · from anna@mail.acme.example via ses-eu');
  });
});
