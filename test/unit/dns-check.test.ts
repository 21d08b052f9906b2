import { checkDomainDns, dkimVerdict, dmarcVerdict, spfVerdict, type TxtResolver } from '../../core/dns-check';

const DKIM_KEY = 'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu2Jb0Q==';

describe('spfVerdict', () => {
  it.each([
    ['v=spf1 include:_spf.example.com ~all'],
    ['v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 mx a -all'],
    ['v=spf1 redirect=_spf.example.com'],
  ])('passes %s', (r) => expect(spfVerdict(['some other txt', r]).verdict).toBe('pass'));

  it('is missing without a v=spf1 record', () => {
    expect(spfVerdict([]).verdict).toBe('missing');
    expect(spfVerdict(['google-site-verification=abc']).verdict).toBe('missing');
  });

  it.each([
    [['v=spf1'], 'no mechanisms'],
    [['v=spf1 include:a.example ~all', 'v=spf1 -all'], 'more than one'],
    [['v=spf1 include:a.example'], 'no all mechanism'],
    [['v=spf1 inclde:a.example ~all'], 'unknown term'],
  ])('is malformed: %j', (records, detail) => {
    const v = spfVerdict(records);
    expect(v.verdict).toBe('malformed');
    expect(v.detail).toContain(detail);
  });
});

describe('dkimVerdict', () => {
  it('passes a key record, with or without v=DKIM1', () => {
    expect(dkimVerdict([`v=DKIM1; k=rsa; p=${DKIM_KEY}`]).verdict).toBe('pass');
    expect(dkimVerdict([`k=rsa; p=${DKIM_KEY}`]).verdict).toBe('pass');
  });
  it('is missing with no record', () => expect(dkimVerdict([]).verdict).toBe('missing'));
  it.each([
    [['v=DKIM1; k=rsa'], 'no p= tag'],
    [['v=DKIM1; p='], 'revoked'],
    [['v=DKIM1; p=not base64!'], 'not base64'],
    [[`v=DKIM2; p=${DKIM_KEY}`], 'DKIM1'],
  ])('is malformed: %j', (records, detail) => {
    const v = dkimVerdict(records);
    expect(v.verdict).toBe('malformed');
    expect(v.detail).toContain(detail);
  });
});

describe('dmarcVerdict', () => {
  it.each(['v=DMARC1; p=none', 'v=DMARC1; p=quarantine; rua=mailto:d@example.com', 'v=DMARC1;p=reject'])('passes %s', (r) =>
    expect(dmarcVerdict([r]).verdict).toBe('pass'),
  );
  it('is missing with no record', () => expect(dmarcVerdict([]).verdict).toBe('missing'));
  it.each([
    [['v=DMARC1; rua=mailto:d@example.com'], 'no p= tag'],
    [['v=DMARC1; p=block'], 'none, quarantine or reject'],
    [['p=reject; v=DMARC1'], 'v=DMARC1'],
    [['v=DMARC1; p=none', 'v=DMARC1; p=reject'], 'more than one'],
  ])('is malformed: %j', (records, detail) => {
    const v = dmarcVerdict(records);
    expect(v.verdict).toBe('malformed');
    expect(v.detail).toContain(detail);
  });
});

describe('checkDomainDns', () => {
  const fake = (zone: Record<string, string[][] | Error>): TxtResolver & { asked: string[] } => {
    const asked: string[] = [];
    return {
      asked,
      resolveTxt(name: string) {
        asked.push(name);
        const v = zone[name];
        if (v instanceof Error) return Promise.reject(v);
        if (!v) return Promise.reject(Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' }));
        return Promise.resolve(v);
      },
    };
  };

  it('asks the three names and passes when all pass (split TXT strings are joined)', async () => {
    const r = fake({
      'example.com': [['v=spf1 include:_spf.example.com ', '~all']],
      's1._domainkey.example.com': [[`v=DKIM1; k=rsa; p=${DKIM_KEY.slice(0, 10)}`, DKIM_KEY.slice(10)]],
      '_dmarc.example.com': [['v=DMARC1; p=reject']],
    });
    const v = await checkDomainDns(r, 'Example.com.', 's1');
    expect(v.overall).toBe('pass');
    expect([v.spf.verdict, v.dkim.verdict, v.dmarc.verdict]).toEqual(['pass', 'pass', 'pass']);
    expect(r.asked.sort()).toEqual(['_dmarc.example.com', 'example.com', 's1._domainkey.example.com']);
  });

  it('fails on a lookup error other than not-found, calling it error', async () => {
    const servfail = Object.assign(new Error('queryTxt ESERVFAIL'), { code: 'ESERVFAIL' });
    const v = await checkDomainDns(fake({ 'example.com': servfail }), 'example.com', 's1');
    expect(v.spf).toEqual({ verdict: 'error', name: 'example.com', detail: 'ESERVFAIL' });
    expect(v.overall).toBe('fail');
  });

  it('counts DKIM missing when the domain has no selector', async () => {
    const v = await checkDomainDns(fake({}), 'example.com', null);
    expect(v.dkim.verdict).toBe('missing');
    expect(v.overall).toBe('fail');
  });
});
