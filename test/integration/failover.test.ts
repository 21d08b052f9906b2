import { randomBytes, randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { FailoverSender } from '../../activities/providers/failover';
import { ProviderRegistry } from '../../activities/providers/registry';
import { ProviderSendError, type OutgoingMessage } from '../../activities/providers/types';
import { SecretBox } from '../../core/crypto';
import { createLogger } from '../../core/logger';
import { createPool } from '../../db/pool';
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

  it('a failure rate above 5% over 20 attempts opens the breaker; transient errors below it do not fail over', async () => {
    // A fresh SendGrid account, so its window holds only this test's attempts.
    const sgId = (await createProviderAccount(pool, box, { name: `sg2-${randomUUID()}`, kind: 'sendgrid', config: { apiKey: 'SG.y', endpoint: `http://127.0.0.1:${sendgrid.port}` } })).id;
    for (let i = 0; i < 19; i++) await sender.send([sgId, sesId], message(100 + i), `r${i}`);
    sendgrid.fail(500, 1);
    await expect(sender.send([sgId, sesId], message(200), 'r-fail-1')).rejects.toMatchObject({ errorClass: 'transient' });
    expect((await switches(sgId)).length).toBe(0); // 1 of 20: 5%, not above
    sendgrid.fail(500, 1);
    const moved = await sender.send([sgId, sesId], message(201), 'r-fail-2'); // 2 of 21: opens, and this one fails over
    expect(moved.accountId).toBe(sesId);
    expect(await switches(sgId)).toEqual([{ from_state: 'closed', to_state: 'open', reason: expect.stringMatching(/failure rate 9\.5% over 21 attempts/) }]);
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
