import {
  DEFAULT_REPUTATION,
  decideReputation,
  domainDecision,
  mailboxDecision,
  providerDecision,
  ratesOf,
  validateReputationSettings,
  type DomainStats,
  type MailboxStats,
  type ProviderStats,
  type ReputationSettings,
} from '../../../workflows/policy/reputation';
import { decideReputationLegacy, type LegacyReputationSettings } from '../../../workflows/policy/reputation-legacy';

const S: ReputationSettings = { ...DEFAULT_REPUTATION };
const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

const mailbox = (over: Partial<MailboxStats> = {}): MailboxStats => ({
  mailboxId: 'm1', clientId: 'c1', status: 'active', rest: null, sends: 100, bounced: 0, complained: 0, ...over,
});
const domain = (over: Partial<DomainStats> = {}): DomainStats => ({
  domainId: 'd1', clientId: 'c1', inRotation: true, sends: 100, bounced: 0, complained: 0, failed: 0, ...over,
});
const provider = (over: Partial<ProviderStats> = {}): ProviderStats => ({
  accountId: 'p1', attempts: 100, failures: 0, breaker: 'closed', ...over,
});

describe('ratesOf', () => {
  it('computes delivery, bounce and complaint rates', () => {
    expect(ratesOf({ sends: 200, bounced: 6, complained: 1, failed: 4 })).toEqual({ delivery: 0.95, bounce: 0.03, complaint: 0.005 });
  });
  it('treats an empty sample as healthy', () => {
    expect(ratesOf({ sends: 0, bounced: 0, complained: 0, failed: 0 })).toEqual({ delivery: 1, bounce: 0, complaint: 0 });
  });
});

describe('mailbox decisions (the one reputation rule)', () => {
  it('rests a mailbox at 50 sends a day with 3 bounces, naming the rate, the sample and its bound', () => {
    const d = mailboxDecision(mailbox({ sends: 50, bounced: 3 }), S, NOW);
    expect(d).toEqual(expect.objectContaining({ kind: 'rest_mailbox', mailboxId: 'm1', restUntil: NOW + S.mailboxRestMs }));
    expect(d && 'reason' in d ? d.reason : '').toBe('bounce rate 6.00% (3 of 50 sends; lower bound 2.42% at 95%) is above 2.00%');
  });
  it('leaves a healthy mailbox alone: 2 bounces in 50, 1 in 100, none', () => {
    expect(mailboxDecision(mailbox({ sends: 50, bounced: 2 }), S, NOW)).toBeNull();
    expect(mailboxDecision(mailbox({ sends: 100, bounced: 1 }), S, NOW)).toBeNull();
    expect(mailboxDecision(mailbox({ sends: 0 }), S, NOW)).toBeNull();
  });
  it('names every breached rate, complaints first', () => {
    const d = mailboxDecision(mailbox({ sends: 200, complained: 2, bounced: 30 }), S, NOW);
    expect(d?.kind).toBe('rest_mailbox');
    expect(d && 'reason' in d ? d.reason : '').toMatch(/^complaint rate 1\.00% \(2 of 200 sends; .*; bounce rate 15\.00% \(30 of 200 sends;/);
  });
  it('needs no minimum of sends: a small sample with strong evidence is judged', () => {
    expect(mailboxDecision(mailbox({ sends: 10, bounced: 5 }), S, NOW)?.kind).toBe('rest_mailbox');
    expect(mailboxDecision(mailbox({ sends: 99, bounced: 50, complained: 20 }), S, NOW)?.kind).toBe('rest_mailbox');
  });
  it('does not rest a mailbox that is paused or disabled by someone else', () => {
    expect(mailboxDecision(mailbox({ status: 'paused', bounced: 50 }), S, NOW)).toBeNull();
    expect(mailboxDecision(mailbox({ status: 'disabled', bounced: 50 }), S, NOW)).toBeNull();
  });
  it('resumes a mailbox whose rest is over, at the exact end and after', () => {
    const rest = (restUntil: number) => mailbox({ status: 'paused', rest: { reason: 'bounces', restUntil } });
    expect(mailboxDecision(rest(NOW), S, NOW)?.kind).toBe('resume_mailbox');
    expect(mailboxDecision(rest(NOW - 1), S, NOW)?.kind).toBe('resume_mailbox');
    expect(mailboxDecision(rest(NOW + 1), S, NOW)).toBeNull();
  });
  it('keeps a mailbox resting with its domain (no end time) resting', () => {
    expect(mailboxDecision(mailbox({ status: 'paused', rest: { reason: 'domain', restUntil: null }, bounced: 0 }), S, NOW)).toBeNull();
  });
  it("follows the rule's settings", () => {
    const strict: ReputationSettings = { ...S, mailboxRule: { ...S.mailboxRule, bounceMax: 0.005, minBounces: 1 } };
    expect(mailboxDecision(mailbox({ sends: 10, bounced: 1 }), strict, NOW)?.kind).toBe('rest_mailbox');
    expect(mailboxDecision(mailbox({ sends: 10, bounced: 1 }), S, NOW)).toBeNull();
  });
  it('judges a snapshot without rule settings (taken by an older activity) by the defaults', () => {
    const old = { ...S, mailboxRule: undefined } as unknown as ReputationSettings;
    expect(mailboxDecision(mailbox({ sends: 50, bounced: 3 }), old, NOW)?.kind).toBe('rest_mailbox');
  });
});

describe('the old controller rule, kept only to replay runs recorded before the one rule', () => {
  const legacy: LegacyReputationSettings = {
    windowMs: S.windowMs, providerWindowMs: S.providerWindowMs, mailboxRestMs: S.mailboxRestMs, domainDeliveryMin: 0.95, domainMinSample: 100,
    providerFailureRate: 0.1, providerMinAttempts: 20, mailboxBounceMax: 0.02, mailboxComplaintMax: 0.001, mailboxMinSample: 100,
  };
  const old = (over: Partial<MailboxStats> & { failed?: number }) => ({ ...mailbox(over), failed: over.failed ?? 0 });
  it('decides as it did: over the threshold on 100 sends, nothing under the sample', () => {
    const out = decideReputationLegacy({ providers: [provider({ failures: 10 })], domains: [], mailboxes: [old({ bounced: 3 }), old({ mailboxId: 'm2', sends: 99, bounced: 50 }), old({ mailboxId: 'm3', bounced: 2 })] }, legacy, NOW);
    expect(out.map((d) => [d.kind, 'mailboxId' in d ? d.mailboxId : 'accountId' in d ? d.accountId : ''])).toEqual([['open_provider', 'p1'], ['rest_mailbox', 'm1']]);
    expect(out[1] && 'reason' in out[1] ? out[1].reason : '').toMatch(/^bounce rate 3\.00% over 100 sends \(max 2\.00%\)$/);
  });
});

describe('domain decisions', () => {
  it('takes a domain under 95% delivery out of rotation', () => {
    const d = domainDecision(domain({ sends: 100, bounced: 4, failed: 2 }), S);
    expect(d).toEqual(expect.objectContaining({ kind: 'domain_out', domainId: 'd1' }));
    expect(d && 'reason' in d ? d.reason : '').toMatch(/delivery rate 94\.00% over 100 sends/);
  });
  it('keeps a domain at exactly 95% in rotation', () => {
    expect(domainDecision(domain({ sends: 100, bounced: 3, failed: 2 }), S)).toBeNull();
  });
  it('does not count complaints against delivery', () => {
    expect(domainDecision(domain({ sends: 100, complained: 10 }), S)).toBeNull();
  });
  it('needs the minimum sample', () => {
    expect(domainDecision(domain({ sends: 99, bounced: 50 }), S)).toBeNull();
  });
  it('does nothing to a domain already out of rotation', () => {
    expect(domainDecision(domain({ inRotation: false, bounced: 50 }), S)).toBeNull();
  });
});

describe('provider decisions', () => {
  it('switches away from an account at 10% failures', () => {
    const d = providerDecision(provider({ attempts: 100, failures: 10 }), S);
    expect(d).toEqual(expect.objectContaining({ kind: 'open_provider', accountId: 'p1' }));
    expect(d && 'reason' in d ? d.reason : '').toMatch(/failure rate 10\.00% over 100 attempts/);
  });
  it('keeps an account just under 10%', () => {
    expect(providerDecision(provider({ attempts: 100, failures: 9 }), S)).toBeNull();
  });
  it('needs the minimum attempts', () => {
    expect(providerDecision(provider({ attempts: 19, failures: 19 }), S)).toBeNull();
    expect(providerDecision(provider({ attempts: 20, failures: 2 }), S)?.kind).toBe('open_provider');
  });
  it('leaves an open or half-open breaker to the breaker', () => {
    expect(providerDecision(provider({ failures: 90, breaker: 'open' }), S)).toBeNull();
    expect(providerDecision(provider({ failures: 90, breaker: 'half_open' }), S)).toBeNull();
  });
});

describe('decideReputation', () => {
  it('collects providers, then domains, then mailboxes', () => {
    const out = decideReputation(
      {
        providers: [provider({ failures: 10 }), provider({ accountId: 'p2', failures: 1 })],
        domains: [domain({ bounced: 10 }), domain({ domainId: 'd2' })],
        mailboxes: [
          mailbox({ bounced: 5 }),
          mailbox({ mailboxId: 'm2' }),
          mailbox({ mailboxId: 'm3', status: 'paused', rest: { reason: 'x', restUntil: NOW - 1000 } }),
        ],
      },
      S,
      NOW,
    );
    expect(out.map((d) => [d.kind, 'accountId' in d ? d.accountId : 'domainId' in d ? d.domainId : d.mailboxId])).toEqual([
      ['open_provider', 'p1'],
      ['domain_out', 'd1'],
      ['rest_mailbox', 'm1'],
      ['resume_mailbox', 'm3'],
    ]);
  });
  it('decides nothing on a healthy fleet', () => {
    expect(decideReputation({ providers: [provider()], domains: [domain()], mailboxes: [mailbox()] }, S, NOW)).toEqual([]);
  });
});

describe('validateReputationSettings', () => {
  it('accepts the defaults', () => {
    expect(validateReputationSettings(S)).toEqual([]);
  });
  it('names each bad setting', () => {
    expect(validateReputationSettings({ ...S, domainDeliveryMin: 1.5, providerMinAttempts: 0, mailboxRule: { ...S.mailboxRule, confidence: 1 } })).toEqual([
      'domainDeliveryMin must be between 0 and 1',
      'providerMinAttempts must be positive',
      'mailboxRule.confidence must be over 0.5 and under 1',
    ]);
  });
});
