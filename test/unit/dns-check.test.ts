import { ConfigError, loadConfig } from '../../core/config';
import { checkDomainControl, checkDomainDns, dkimVerdict, dmarcVerdict, newVerificationToken, spfVerdict, verificationRecord, type TxtResolver } from '../../core/dns-check';

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

describe('checkDomainControl (proof of control: outreach-verification=<token> at _outreach.<domain>)', () => {
  const zone = (records: Record<string, string[][] | Error>): TxtResolver & { asked: string[] } => {
    const asked: string[] = [];
    return {
      asked,
      resolveTxt(name: string) {
        asked.push(name);
        const v = records[name];
        if (v instanceof Error) return Promise.reject(v);
        if (!v) return Promise.reject(Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' }));
        return Promise.resolve(v);
      },
    };
  };
  const token = newVerificationToken();

  it('names the record to publish, with a fresh unguessable token each time', () => {
    expect(verificationRecord('Mail.Example.com.', token)).toEqual({ type: 'TXT', name: '_outreach.mail.example.com', value: `outreach-verification=${token}` });
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(newVerificationToken()).not.toBe(token);
  });

  it('passes on the exact record among others (split TXT strings joined), and asks only _outreach.<domain>', async () => {
    const r = zone({ '_outreach.example.com': [['google-site-verification=x'], ['outreach-verification=', token]] });
    expect(await checkDomainControl(r, 'example.com', token)).toEqual({ verdict: 'pass', name: '_outreach.example.com' });
    expect(r.asked).toEqual(['_outreach.example.com']);
  });

  it.each([
    ['no record', {}, 'no outreach-verification= record'],
    ['another token', { '_outreach.example.com': [['outreach-verification=someone-else']] }, '1 outreach-verification= record(s)'],
    ['the token as a prefix', { '_outreach.example.com': [[`outreach-verification=${token}x`]] }, 'none with this claim'],
    ['the record at the domain itself', { 'example.com': [[`outreach-verification=${token}`]] }, 'no outreach-verification= record'],
  ])('is missing with %s', async (_what, records, detail) => {
    const v = await checkDomainControl(zone(records), 'example.com', token);
    expect(v.verdict).toBe('missing');
    expect(v.detail).toContain(detail);
    expect(v.detail).not.toContain(token);
  });

  it('is an error when the lookup fails', async () => {
    const v = await checkDomainControl(zone({ '_outreach.example.com': Object.assign(new Error('x'), { code: 'ETIMEOUT' }) }), 'example.com', token);
    expect(v).toEqual({ verdict: 'error', name: '_outreach.example.com', detail: 'ETIMEOUT' });
  });
});

describe('config: DNS_SERVER and the reputation / rotation variables', () => {
  it('has defaults', () => {
    const c = loadConfig({});
    expect([c.DNS_SERVER, c.ROTATION_TIMEZONE, c.ROTATION_HOUR, c.SCHEDULES_ENABLED]).toEqual([undefined, 'UTC', 3, undefined]);
    expect([c.REPUTATION_PROVIDER_FAILURE_RATE, c.REPUTATION_DOMAIN_DELIVERY_MIN, c.REPUTATION_MIN_SAMPLE, c.MAILBOX_REST_HOURS]).toEqual([0.1, 0.95, 100, 24]);
  });

  it.each(['127.0.0.1:5353', '9.9.9.9', '[::1]:53', '::1'])('accepts DNS_SERVER=%s', (v) => {
    expect(loadConfig({ DNS_SERVER: v }).DNS_SERVER).toBe(v);
  });

  it.each([
    ['DNS_SERVER', 'dns.example.com'],
    ['DNS_SERVER', '127.0.0.1:99999'],
    ['ROTATION_TIMEZONE', 'Mars/Olympus'],
    ['ROTATION_HOUR', '24'],
    ['SCHEDULES_ENABLED', 'yes'],
    ['REPUTATION_PROVIDER_FAILURE_RATE', '10'],
    ['REPUTATION_DOMAIN_DELIVERY_MIN', '1.5'],
    ['REPUTATION_MIN_SAMPLE', '0'],
    ['REPUTATION_WINDOW_HOURS', '-1'],
    ['MAILBOX_REST_HOURS', 'a day'],
  ])('stops on %s=%s, naming it', (variable, value) => {
    let err: unknown;
    try {
      loadConfig({ [variable]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues.map((i) => i.variable)).toEqual([variable]);
  });
});
