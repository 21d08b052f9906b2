import { randomBytes, randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { FailoverSender } from '../../activities/providers/failover';
import { ProviderRegistry } from '../../activities/providers/registry';
import { ProviderSendError, type OutgoingMessage } from '../../activities/providers/types';
import { SecretBox } from '../../core/crypto';
import { createLogger } from '../../core/logger';
import { createPool } from '../../db/pool';
import { transitionBreaker } from '../../db/repositories/provider-health';
import { createProviderAccount } from '../../db/repositories/providers';
import { SendgridFake } from '../fakes/sendgrid-fake';
import { SesFake } from '../fakes/ses-fake';
import { testEnv } from '../helpers/test-env';

const message = (i: number): OutgoingMessage => ({
  from: { address: 'ann@send.example.com' },
  to: `lead${i}@example.org`,
  subject: 's',
  text: 't',
  messageId: `<${randomUUID()}@send.example.com>`,
  correlationId: randomUUID(),
  headers: {},
});

describe('failover across providers with a shared circuit breaker (real SDK clients, fakes, Postgres)', () => {
  let pool: Pool;
  let registry: ProviderRegistry;
  const ses = new SesFake();
  const sendgrid = new SendgridFake();
  let sesId: string;
  let sgId: string;
  let sender: FailoverSender;
  let box: SecretBox;
  const settings = { windowMs: 60_000, minAttempts: 20, failureRate: 0.05, openForMs: 400 };

  beforeAll(async () => {
    pool = createPool(testEnv('databaseUrl'), 4);
    box = new SecretBox(randomBytes(32).toString('base64'));
    registry = new ProviderRegistry(pool, box);
    const sesUrl = await ses.start();
    const sgUrl = await sendgrid.start();
    sesId = (await createProviderAccount(pool, box, { name: `ses-${randomUUID()}`, kind: 'ses', config: { region: 'eu-west-1', accessKeyId: 'AK', secretAccessKey: 'SK', endpoint: sesUrl } })).id;
    sgId = (await createProviderAccount(pool, box, { name: `sg-${randomUUID()}`, kind: 'sendgrid', config: { apiKey: 'SG.x', endpoint: sgUrl } })).id;
    sender = new FailoverSender(pool, registry, createLogger('silent'), settings);
  });
  afterAll(async () => {
    await registry.closeAll();
    await ses.stop();
    await sendgrid.stop();
    await pool.end();
  });

  const account = async (kind: 'ses' | 'sendgrid') =>
    (await createProviderAccount(pool, box, kind === 'ses'
      ? { name: `ses-${randomUUID()}`, kind, config: { region: 'eu-west-1', accessKeyId: 'AK', secretAccessKey: 'SK', endpoint: `http://127.0.0.1:${ses.port}` } }
      : { name: `sg-${randomUUID()}`, kind, config: { apiKey: 'SG.x', endpoint: `http://127.0.0.1:${sendgrid.port}` } })).id;
  const attempts = async (id: string) =>
    (await pool.query<{ attempts: number; failures: number }>(
      'SELECT count(*)::int AS attempts, count(*) FILTER (WHERE NOT ok)::int AS failures FROM provider_attempts WHERE provider_account_id = $1',
      [id],
    )).rows[0];
  const switches = async (id: string) =>
    (await pool.query('SELECT from_state, to_state, reason FROM provider_switches WHERE provider_account_id = $1 ORDER BY at, id', [id])).rows;

  it('outage → next provider at once with a switch row; recovery → a probe returns traffic to the primary', async () => {
    const first = await sender.send([sesId, sgId], message(0), 'a0');
    expect(first.accountId).toBe(sesId);

    await ses.outage();
    const during = await sender.send([sesId, sgId], message(1), 'a1');
    expect(during.accountId).toBe(sgId);
    expect(await switches(sesId)).toEqual([{ from_state: 'closed', to_state: 'open', reason: expect.stringMatching(/provider down/) }]);

    // While open, SES is skipped without being tried: the next sends go straight to SendGrid.
    const sgBefore = sendgrid.accepted;
    for (let i = 2; i < 5; i++) expect((await sender.send([sesId, sgId], message(i), `a${i}`)).accountId).toBe(sgId);
    expect(sendgrid.accepted - sgBefore).toBe(3);

    await ses.recover();
    await new Promise((r) => setTimeout(r, settings.openForMs + 50));
    const back = await sender.send([sesId, sgId], message(5), 'a5');
    expect(back.accountId).toBe(sesId);
    expect((await switches(sesId)).map((s) => `${s.from_state}->${s.to_state}`)).toEqual(['closed->open', 'open->half_open', 'half_open->closed']);
    expect((await sender.send([sesId, sgId], message(6), 'a6')).accountId).toBe(sesId);
  });

  it('a 5xx moves that send to the next provider in the same call and counts toward the breaker, which opens above 5% over 20 attempts', async () => {
    // A fresh SendGrid account, so its window holds only this test's attempts.
    const sgId = await account('sendgrid');
    for (let i = 0; i < 19; i++) await sender.send([sgId, sesId], message(100 + i), `r${i}`);
    const sesBefore = ses.accepted;
    sendgrid.fail(500, 1);
    let beforeNext = 0;
    const first = await sender.send([sgId, sesId], message(200), 'r-fail-1', () => beforeNext++); // 1 of 20: 5%, not above
    expect(first.accountId).toBe(sesId); // same call, next provider
    expect(beforeNext).toBe(1); // the activity heartbeats between the two calls
    expect(ses.accepted - sesBefore).toBe(1);
    expect(await attempts(sgId)).toEqual({ attempts: 20, failures: 1 });
    expect((await switches(sgId)).length).toBe(0);
    expect((await sender.send([sgId, sesId], message(201), 'r-ok')).accountId).toBe(sgId); // still the primary
    sendgrid.fail(503, 1);
    const moved = await sender.send([sgId, sesId], message(202), 'r-fail-2'); // 2 of 22: opens, and this one fails over
    expect(moved.accountId).toBe(sesId);
    expect(await switches(sgId)).toEqual([{ from_state: 'closed', to_state: 'open', reason: expect.stringMatching(/failure rate 9\.1% over 22 attempts/) }]);
    // Once open, the other sends are spared: SendGrid is not called at all.
    const sgAttempts = sendgrid.attempts;
    expect((await sender.send([sgId, sesId], message(203), 'r-after')).accountId).toBe(sesId);
    expect(sendgrid.attempts).toBe(sgAttempts);
  });

  it('when the last provider fails on the provider side too, the send throws (for Temporal to retry) and nothing was accepted', async () => {
    const [a, b] = [await account('ses'), await account('sendgrid')];
    const before = { ses: ses.accepted, sg: sendgrid.accepted };
    ses.fail(503, 1);
    sendgrid.fail(502, 1);
    const err = await sender.send([a, b], message(250), 'last').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderSendError);
    expect(err).toMatchObject({ errorClass: 'transient', accountId: b });
    expect({ ses: ses.accepted, sg: sendgrid.accepted }).toEqual(before);
    expect(await attempts(a)).toEqual({ attempts: 1, failures: 1 });
    expect(await attempts(b)).toEqual({ attempts: 1, failures: 1 });
  });

  it('when the cool-off ends exactly one send takes the probe; the others go to the next provider without waiting; the failed probe fails over and re-opens the breaker', async () => {
    const [a, b] = [await account('ses'), await account('sendgrid')];
    await transitionBreaker(pool, a, ['closed'], 'open', 'test: opened', new Date(Date.now() - 1));
    ses.fail(503).latency(600); // the probe is slow and fails
    try {
      const sesBefore = ses.attempts;
      const sgBefore = sendgrid.accepted;
      const t0 = Date.now();
      const done: { accountId: string; ms: number }[] = [];
      await Promise.all(
        Array.from({ length: 6 }, (_, i) => sender.send([a, b], message(400 + i), `p${i}`).then((d) => done.push({ accountId: d.accountId, ms: Date.now() - t0 }))),
      );
      expect(ses.attempts - sesBefore).toBe(1); // one probe
      expect(sendgrid.accepted - sgBefore).toBe(6); // all six, the probe's own send included
      expect(done.every((d) => d.accountId === b)).toBe(true);
      // Five finished before the probe's answer came back: nobody waited for it.
      const byTime = done.map((d) => d.ms).sort((x, y) => x - y);
      expect(byTime.slice(0, 5).every((ms) => ms < 600)).toBe(true);
      expect(byTime[5]).toBeGreaterThanOrEqual(600);
    } finally {
      await ses.recover();
    }
    expect((await switches(a)).map((s) => `${s.from_state}->${s.to_state}`)).toEqual(['closed->open', 'open->half_open', 'half_open->open']);
    const row = (await pool.query<{ state: string; probe_at: Date }>('SELECT state, probe_at FROM provider_health WHERE provider_account_id = $1', [a])).rows[0]!;
    expect(row.state).toBe('open');
    expect(row.probe_at.getTime()).toBeGreaterThan(Date.now());
  });

  it('a probe whose holder died (its lease ran out, or a row from before leases) is taken over, and its success returns traffic', async () => {
    for (const probeAt of ["now() - interval '1 second'", 'NULL']) {
      const [a, b] = [await account('ses'), await account('sendgrid')];
      await transitionBreaker(pool, a, ['closed'], 'open', 'test: opened', new Date(Date.now() - 1));
      await pool.query(`UPDATE provider_health SET state = 'half_open', probe_at = ${probeAt}, probe_owner = 'dead-worker' WHERE provider_account_id = $1`, [a]);
      const back = await sender.send([a, b], message(500), 'takeover');
      expect(back.accountId).toBe(a);
      expect((await switches(a)).map((s) => `${s.from_state}->${s.to_state}`)).toEqual(['closed->open', 'half_open->closed']);
      expect((await sender.send([a, b], message(501), 'after')).accountId).toBe(a);
    }
  });

  it('with every provider unavailable, the retry hint is the soonest a probe can answer, not the open period', async () => {
    const [a, b] = [await account('ses'), await account('sendgrid')];
    const big = new FailoverSender(pool, registry, createLogger('silent'), { ...settings, openForMs: 30_000 });
    await transitionBreaker(pool, a, ['closed'], 'open', 'test: opened', new Date(Date.now() + 20_000));
    await transitionBreaker(pool, b, ['closed'], 'open', 'test: opened', new Date(Date.now() - 1));
    await pool.query("UPDATE provider_health SET state = 'half_open', probe_at = now() + interval '60 seconds' WHERE provider_account_id = $1", [b]);
    const err = await big.send([a, b], message(600), 'none').catch((e: unknown) => e);
    expect(err).toMatchObject({ errorClass: 'provider_down' });
    expect((err as ProviderSendError).retryAfterMs).toBe(1_000); // b's probe is out: ask again in a second
    await pool.query("UPDATE provider_health SET state = 'open', probe_at = now() + interval '5 seconds' WHERE provider_account_id = $1", [b]);
    const err2 = (await big.send([a, b], message(601), 'none2').catch((e: unknown) => e)) as ProviderSendError;
    expect(err2.retryAfterMs).toBeGreaterThan(4_000);
    expect(err2.retryAfterMs).toBeLessThanOrEqual(5_000);
  });

  it('an ambiguous outcome is never re-sent through another provider', async () => {
    await new Promise((r) => setTimeout(r, settings.openForMs + 50));
    await sender.send([sesId, sgId], message(300), 'warm'); // SES healthy and closed
    const sgBefore = sendgrid.accepted;
    const sesBefore = ses.accepted;
    ses.dropAfterAccept(1);
    const err = await sender.send([sesId, sgId], message(301), 'amb').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderSendError);
    expect((err as ProviderSendError).errorClass).toBe('ambiguous');
    expect(ses.accepted - sesBefore).toBe(1);
    expect(sendgrid.accepted).toBe(sgBefore);
  });
});
