import { sendSummary } from '../../workflows/summaries';

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
});
