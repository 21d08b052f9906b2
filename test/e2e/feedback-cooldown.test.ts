import type { FastifyInstance } from 'fastify';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildApp } from '../../api/app';
import { SecretBox } from '../../core/crypto';
import { SesFake } from '../fakes/ses-fake';
import { SnsSigner, TEST_TOPIC_ARN, sesEvent } from '../fakes/webhook-signers';
import { campaignWithLeads, newProvider } from '../helpers/campaign-fixture';
import { bearer, eventually, json, newClient, startStack, type Stack } from '../helpers/stack';

/**
 * A mailbox fed 3 hard bounces on a day's 50 sends (6%, whose lower bound
 * 2.4% is above 2%) is cooled down by the one reputation rule and an alert
 * naming the mailbox, the rate and the sample is raised (row, webhook POST);
 * 2 in 50 raise nothing.
 */
describe('mailbox feedback: bounce rate over the threshold', () => {
  let stack: Stack;
  let api: FastifyInstance;
  let alertServer: http.Server;
  const alerts: Record<string, unknown>[] = [];
  const ses = new SesFake();
  const sns = new SnsSigner();
  let sesUrl = '';

  beforeAll(async () => {
    alertServer = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        alerts.push(JSON.parse(body) as Record<string, unknown>);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => alertServer.listen(0, '127.0.0.1', () => r()));
    sesUrl = await ses.start();
    stack = await startStack({
      worker: true,
      env: { SES_SNS_TOPIC_ARNS: TEST_TOPIC_ARN, ALERT_WEBHOOK_URL: `http://127.0.0.1:${(alertServer.address() as AddressInfo).port}/alerts` },
    });
    api = await buildApp({
      config: stack.config, pool: stack.pool, temporal: stack.temporal, box: new SecretBox(stack.config.CREDENTIALS_KEY!),
      webhooks: { snsCertificateFetcher: sns.fetcher },
    });
  });
  afterAll(async () => {
    await api?.close();
    await stack?.close();
    await ses.stop();
    await new Promise((r) => alertServer?.close(r));
  });

  it('at 50 sends a day, 3 bounces cool the mailbox down and raise one alert; 2 do not', async () => {
    const provider = await newProvider(stack, 'ses', { region: 'us-east-1', accessKeyId: 'AKID', secretAccessKey: 'secret', endpoint: sesUrl });
    const client = await newClient(stack);
    const c = await campaignWithLeads(stack, client, { providers: [provider.name], mailboxes: 1, leads: 50 });
    await c.start();
    await c.waitDone(180_000);
    const mailboxId = c.mailboxIds[0]!;
    const { rows: sends } = await stack.pool.query<{ email: string; provider_message_id: string }>(
      `SELECT l.email, s.provider_message_id FROM sends s JOIN leads l ON l.id = s.lead_id WHERE s.campaign_id = $1 AND s.status = 'sent' ORDER BY s.id`,
      [c.campaignId],
    );
    expect(sends).toHaveLength(50);
    const alertRows = async () =>
      (await stack.pool.query('SELECT kind, subject_type, subject_id, client_id, message FROM alerts WHERE subject_id = $1', [mailboxId])).rows;
    const bounce = async (i: number) => {
      const res = await api.inject({
        method: 'POST', url: '/webhooks/ses', headers: { 'content-type': 'text/plain; charset=UTF-8' },
        payload: JSON.stringify(sns.notification(sesEvent('Bounce', sends[i]!.provider_message_id, sends[i]!.email))),
      });
      expect([res.statusCode, json(res)]).toEqual([200, expect.objectContaining({ stored: 1 })]);
    };

    await bounce(10);
    await bounce(20);
    expect(await alertRows()).toEqual([]); // 4%, but its lower bound (1.3%) is not above 2%
    expect(alerts).toEqual([]);

    await bounce(30);
    const rows = await alertRows();
    expect(rows).toEqual([{ kind: 'mailbox_bounce_rate', subject_type: 'mailbox', subject_id: mailboxId, client_id: client.id, message: `mailbox ${mailboxId}: bounce rate 6.00% (3 of 50 sends; lower bound 2.42% at 95%) is above 2.00%; cooling down for 12 h` }]);
    expect(rows[0].message).not.toContain('@'); // ids, never addresses
    await eventually(async () => alerts.length === 1);
    expect(alerts[0]).toMatchObject({ kind: 'mailbox_bounce_rate', subjectId: mailboxId, clientId: client.id });

    // The mailbox workflow heard the verdict: cooling down for the bounce cooldown (12 h).
    const live = await eventually(async () => {
      const m = json<{ live: { status: string; cooldownUntil: string | null } | null }>(
        await stack.app.inject({ method: 'GET', url: `/v1/mailboxes/${mailboxId}`, headers: bearer(client.apiKey) }),
      );
      return m.live?.status === 'cooling_down' ? m.live : null;
    });
    const until = Date.parse(live.cooldownUntil!);
    expect(until).toBeGreaterThan(Date.now() + 11.9 * 3_600_000);
    expect(until).toBeLessThan(Date.now() + 12.1 * 3_600_000);

    // A fourth bounce starts a new sample after the alert: no second alert.
    await bounce(40);
    expect(await alertRows()).toHaveLength(1);
  }, 240_000);
});
