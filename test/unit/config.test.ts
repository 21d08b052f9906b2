import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../core/config';

const valid = {
  DATABASE_URL: 'postgres://u:p@localhost:5432/db',
  ADMIN_API_KEY: 'a'.repeat(32),
  CREDENTIALS_KEY: Buffer.alloc(32, 7).toString('base64'),
};

function errorFor(env: Record<string, string>): ConfigError {
  try {
    loadConfig({ ...valid, ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('core/config', () => {
  it('parses a valid environment with defaults', () => {
    const c = loadConfig(valid);
    expect(c.PORT).toBe(3000);
    expect(c.TEMPORAL_ADDRESS).toBe('localhost:7233');
    expect(c.LOG_LEVEL).toBe('info');
    expect(loadConfig({ ...valid, PORT: '8080', TEMPORAL_ADDRESS: 'temporal:7233', LOG_LEVEL: 'debug' })).toMatchObject({
      PORT: 8080,
      TEMPORAL_ADDRESS: 'temporal:7233',
      LOG_LEVEL: 'debug',
    });
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['TEMPORAL_ADDRESS', 'localhost'],
    ['TEMPORAL_ADDRESS', 'localhost:port'],
    ['LOG_LEVEL', 'verbose'],
    ['DATABASE_URL', 'mysql://x'],
    ['CREDENTIALS_KEY', 'too-short'],
    ['ADMIN_API_KEY', 'short'],
    ['EMBEDDED_PG_PORT', '-1'],
    ['DATA_RETENTION_DAYS', '0'],
    ['DATA_RETENTION_DAYS', '30d'],
    ['DATA_RETENTION_DAYS', '4000'],
    ['PRIVACY_HASH_KEY', 'too-short'],
  ])('%s=%s is rejected naming the variable', (name, value) => {
    const err = errorFor({ [name]: value });
    expect(err.issues.map((i) => i.variable)).toEqual([name]);
    expect(err.message).toContain(name);
  });

  it('DATA_RETENTION_DAYS: a year by default, or the days configured', () => {
    expect(loadConfig(valid).DATA_RETENTION_DAYS).toBe(365);
    expect(loadConfig({ ...valid, DATA_RETENTION_DAYS: '30' }).DATA_RETENTION_DAYS).toBe(30);
  });

  it('TRUST_PROXY: off by default; true, false, or a list of proxy addresses / CIDRs', () => {
    expect(loadConfig(valid).TRUST_PROXY).toBe(false);
    expect(loadConfig({ ...valid, TRUST_PROXY: 'true' }).TRUST_PROXY).toBe(true);
    expect(loadConfig({ ...valid, TRUST_PROXY: 'false' }).TRUST_PROXY).toBe(false);
    expect(loadConfig({ ...valid, TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,::1/128' }).TRUST_PROXY).toEqual(['10.0.0.0/8', '127.0.0.1', '::1/128']);
    expect(loadConfig({ ...valid, TRUST_PROXY: 'loopback,uniquelocal' }).TRUST_PROXY).toEqual(['loopback', 'uniquelocal']);
  });

  it('rate limits and the codec session lifetime: defaults, and configured values', () => {
    expect(loadConfig(valid)).toMatchObject({
      RATE_LIMIT_WINDOW_SECONDS: 60,
      RATE_LIMIT_PER_IP: 2400,
      RATE_LIMIT_PER_KEY: 1200,
      RATE_LIMIT_SIGN_IN_PER_IP: 5,
      RATE_LIMIT_AUTH_FAILURES_PER_IP: 10,
      CODEC_SESSION_SECONDS: 43_200,
    });
    expect(loadConfig({ ...valid, RATE_LIMIT_PER_KEY: '3', RATE_LIMIT_WINDOW_SECONDS: '1', CODEC_SESSION_SECONDS: '60' })).toMatchObject({
      RATE_LIMIT_PER_KEY: 3,
      RATE_LIMIT_WINDOW_SECONDS: 1,
      CODEC_SESSION_SECONDS: 60,
    });
  });

  it.each([
    ['TRUST_PROXY', 'yes'],
    ['TRUST_PROXY', '2'], // a hop count: Fastify 5 ignores it, so it is refused rather than trusting nothing silently
    ['TRUST_PROXY', '10.0.0.0/33'],
    ['TRUST_PROXY', '10.0.0.1,,10.0.0.2'],
    ['TRUST_PROXY', 'proxy.internal'],
    ['RATE_LIMIT_WINDOW_SECONDS', '0'],
    ['RATE_LIMIT_PER_IP', '0'],
    ['RATE_LIMIT_PER_IP', 'lots'],
    ['RATE_LIMIT_PER_KEY', '-5'],
    ['RATE_LIMIT_SIGN_IN_PER_IP', '1.5'],
    ['RATE_LIMIT_AUTH_FAILURES_PER_IP', '0'],
    ['CODEC_SESSION_SECONDS', '59'],
    ['CODEC_SESSION_SECONDS', '604801'],
    ['CODEC_SESSION_SECONDS', '12h'],
  ])('%s=%s is rejected naming the variable', (name, value) => {
    const err = errorFor({ [name]: value });
    expect(err.issues.map((i) => i.variable)).toEqual([name]);
    expect(err.message).toContain(name);
  });

  it('cost per email: the measured actions per email, Temporal\'s price, the infrastructure figure and the target, with defaults', () => {
    expect(loadConfig(valid)).toMatchObject({
      ACTIONS_PER_EMAIL: 5.15, TEMPORAL_PRICE_PER_MILLION_ACTIONS: 50, INFRA_MONTHLY_USD: 0, COST_PER_EMAIL_TARGET_USD: 0.08,
    });
    expect(loadConfig({ ...valid, ACTIONS_PER_EMAIL: '7', TEMPORAL_PRICE_PER_MILLION_ACTIONS: '0', INFRA_MONTHLY_USD: '120.50', COST_PER_EMAIL_TARGET_USD: '0.05' })).toMatchObject({
      ACTIONS_PER_EMAIL: 7, TEMPORAL_PRICE_PER_MILLION_ACTIONS: 0, INFRA_MONTHLY_USD: 120.5, COST_PER_EMAIL_TARGET_USD: 0.05,
    });
  });

  it.each([
    ['ACTIONS_PER_EMAIL', '0'],
    ['ACTIONS_PER_EMAIL', 'five'],
    ['TEMPORAL_PRICE_PER_MILLION_ACTIONS', '-1'],
    ['TEMPORAL_PRICE_PER_MILLION_ACTIONS', '1e3'],
    ['INFRA_MONTHLY_USD', '$100'],
    ['COST_PER_EMAIL_TARGET_USD', '0'],
    ['COST_PER_EMAIL_TARGET_USD', '0.08 USD'],
  ])('%s=%s is rejected at start-up naming the variable', (name, value) => {
    const err = errorFor({ [name]: value });
    expect(err.issues.map((i) => i.variable)).toEqual([name]);
    expect(err.message).toContain(name);
  });

  it('names every bad variable at once', () => {
    const err = errorFor({ PORT: 'x', LOG_LEVEL: 'loud' });
    expect(err.issues.map((i) => i.variable).sort()).toEqual(['LOG_LEVEL', 'PORT']);
  });

  it('names a required variable that is missing', () => {
    expect(() => loadConfig({}, ['DATABASE_URL'])).toThrow(/DATABASE_URL: is required/);
  });

  describe('PUBLIC_BASE_URL in production (RFC 8058 needs an https unsubscribe URI)', () => {
    it.each([
      ['unset', {}],
      ['http', { PUBLIC_BASE_URL: 'http://outreach.example.com' }],
      ['ftp', { PUBLIC_BASE_URL: 'ftp://outreach.example.com' }],
    ])('%s is refused naming PUBLIC_BASE_URL', (_name, env) => {
      const err = errorFor({ NODE_ENV: 'production', ...env });
      expect(err.issues).toEqual([{ variable: 'PUBLIC_BASE_URL', message: expect.stringMatching(/https/) }]);
    });

    it('https is accepted; outside production http still is', () => {
      expect(loadConfig({ ...valid, NODE_ENV: 'production', PUBLIC_BASE_URL: 'https://outreach.example.com' }).PUBLIC_BASE_URL).toBe('https://outreach.example.com');
      expect(loadConfig({ ...valid, NODE_ENV: 'development', PUBLIC_BASE_URL: 'http://localhost:3000' }).PUBLIC_BASE_URL).toBe('http://localhost:3000');
      expect(loadConfig({ ...valid, NODE_ENV: 'test' }).PUBLIC_BASE_URL).toBeUndefined();
    });
  });

  it.each([
    ['api/server.ts', { NODE_ENV: 'production', PUBLIC_BASE_URL: 'http://outreach.example.com' }, 'PUBLIC_BASE_URL'],
    ['worker/main.ts', { NODE_ENV: 'production' }, 'PUBLIC_BASE_URL'],
    ['api/server.ts', { PORT: 'not-a-port' }, 'PORT'],
    ['api/server.ts', { TEMPORAL_ADDRESS: 'no-port-here' }, 'TEMPORAL_ADDRESS'],
    ['worker/main.ts', { LOG_LEVEL: 'chatty' }, 'LOG_LEVEL'],
    ['api/server.ts', { TRUST_PROXY: 'sometimes' }, 'TRUST_PROXY'],
    ['api/server.ts', { RATE_LIMIT_AUTH_FAILURES_PER_IP: 'none' }, 'RATE_LIMIT_AUTH_FAILURES_PER_IP'],
  ])('%s stops at start-up with a message naming %o', (entry, bad, name) => {
    const root = path.join(__dirname, '../..');
    const res = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, entry)], {
      cwd: root,
      env: { PATH: process.env.PATH, ...valid, ...bad },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(res.status).toBe(78);
    expect(res.stderr).toContain(`${name}:`);
  });
});
