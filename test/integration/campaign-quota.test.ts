/**
 * limits.newLeadsPerDay on real PostgreSQL: step-0 send intents of the
 * campaign, recorded in its current local day, any status but 'pending'.
 * Days are compressed by passing the instant and writing created_at.
 */
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { uuidv7 } from '../../core/ids';
import { newLeadQuota } from '../../db/repositories/campaign-quota';
import { createCampaign, transitionCampaign } from '../../db/repositories/campaigns';
import { createClient } from '../../db/repositories/clients';
import { insertMailboxes } from '../../db/repositories/mailboxes';
import { claimSend } from '../../db/repositories/sends';
import { createPool } from '../../db/pool';
import { testEnv } from '../helpers/test-env';

const utc = (iso: string) => Date.parse(iso);

describe('newLeadQuota (campaign-quota repository)', () => {
  let pool: Pool;
  let clientId: string;

  beforeAll(async () => {
    pool = createPool(testEnv('databaseUrl'), 3);
    clientId = (await createClient(pool, { name: `quota-${randomUUID().slice(0, 8)}` })).id;
  });
  afterAll(() => pool?.end());

  async function campaign(extra: { timezone?: string; limits?: { newLeadsPerDay?: number } }) {
    const tpl = randomUUID();
    const c = await createCampaign(pool, clientId, {
      name: `q-${randomUUID().slice(0, 8)}`,
      steps: [{ templateId: tpl, delayDays: 0 }, { templateId: tpl, delayDays: 2 }],
      mailboxes: { pool: 'q' },
      ...extra,
    });
    return c.id;
  }

  /** A lead with one send row of `step`, `status`, recorded at `createdAt`. */
  async function send(campaignId: string, step: number, status: string, createdAt: string) {
    const leadId = uuidv7();
    await pool.query('INSERT INTO leads (id, client_id, campaign_id, email) VALUES ($1, $2, $3, $4)', [
      leadId, clientId, campaignId, `l-${randomUUID()}@leads.example.org`,
    ]);
    await pool.query(
      'INSERT INTO sends (id, client_id, campaign_id, lead_id, step, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [uuidv7(), clientId, campaignId, leadId, step, status, createdAt],
    );
    return leadId;
  }

  it('is null without a limit, and for an unknown campaign', async () => {
    expect(await newLeadQuota(pool, await campaign({}), Date.now())).toBeNull();
    expect(await newLeadQuota(pool, await campaign({ limits: {} }), Date.now())).toBeNull();
    expect(await newLeadQuota(pool, randomUUID(), Date.now())).toBeNull();
  });

  it('counts claimed first-step intents of this campaign in its local day (a 23-hour DST day in New York)', async () => {
    const id = await campaign({ timezone: 'America/New_York', limits: { newLeadsPerDay: 5 } });
    const other = await campaign({ timezone: 'America/New_York', limits: { newLeadsPerDay: 5 } });
    // 2026-03-08 in New York: 00:00 EST = 05:00Z to 00:00 EDT next day = 04:00Z (23 hours).
    await send(id, 0, 'sent', '2026-03-08T05:00:00Z'); // the day's first instant
    await send(id, 0, 'sending', '2026-03-08T11:00:00Z');
    await send(id, 0, 'failed', '2026-03-08T12:00:00Z'); // attempted: it used the allowance
    await send(id, 0, 'bounced', '2026-03-09T03:59:59Z'); // the day's last second
    await send(id, 0, 'pending', '2026-03-08T12:00:00Z'); // never claimed: not counted
    await send(id, 1, 'sent', '2026-03-08T12:00:00Z'); // a follow-up, not a new lead
    await send(id, 0, 'sent', '2026-03-08T04:59:59Z'); // the day before (23:59:59 EST on the 7th)
    await send(id, 0, 'sent', '2026-03-09T04:00:00Z'); // the day after
    await send(other, 0, 'sent', '2026-03-08T12:00:00Z'); // another campaign

    const q = await newLeadQuota(pool, id, utc('2026-03-08T12:00:00Z'));
    expect(q).toEqual({
      limit: 5,
      used: 4,
      remaining: 1,
      dayStart: utc('2026-03-08T05:00:00Z'),
      dayEnd: utc('2026-03-09T04:00:00Z'),
      timezone: 'America/New_York',
    });
    // The same local day, read at its last millisecond.
    expect((await newLeadQuota(pool, id, utc('2026-03-09T03:59:59.999Z')))!.used).toBe(4);
    // The next local day starts over: only its own send counts.
    expect(await newLeadQuota(pool, id, utc('2026-03-09T04:00:00Z'))).toMatchObject({
      used: 1,
      remaining: 4,
      dayStart: utc('2026-03-09T04:00:00Z'),
      dayEnd: utc('2026-03-10T04:00:00Z'),
    });
  });

  it('reads the day in UTC when the campaign has no time zone, and never answers a negative remainder', async () => {
    const id = await campaign({ limits: { newLeadsPerDay: 2 } });
    for (const at of ['2026-05-01T00:00:00Z', '2026-05-01T08:00:00Z', '2026-05-01T23:59:59Z']) await send(id, 0, 'delivered', at);
    expect(await newLeadQuota(pool, id, utc('2026-05-01T10:00:00Z'))).toEqual({
      limit: 2,
      used: 3,
      remaining: 0,
      dayStart: utc('2026-05-01T00:00:00Z'),
      dayEnd: utc('2026-05-02T00:00:00Z'),
      timezone: 'UTC',
    });
  });

  it('counts an intent claimed through claimSend, and sees uncommitted rows of the transaction it is given', async () => {
    const id = await campaign({ timezone: 'Europe/Berlin', limits: { newLeadsPerDay: 10 } });
    expect(await transitionCampaign(pool, clientId, id, ['draft'], 'running')).toBe(true);
    const { inserted } = await insertMailboxes(pool, [{
      clientId, address: `q-${randomUUID()}@send.example.com`, displayName: null, pool: 'q', providerIds: [], timezone: 'UTC',
      window: { days: ['mon'], start: '09:00', end: '17:00' }, limits: { dailyMax: 1, hourlyMax: 1, minIntervalSeconds: 0, jitterRatio: 0 }, warmup: null,
    }]);
    const leadId = uuidv7();
    await pool.query('INSERT INTO leads (id, client_id, campaign_id, email) VALUES ($1, $2, $3, $4)', [leadId, clientId, id, `c-${randomUUID()}@leads.example.org`]);
    const claim = await claimSend(pool, { clientId, campaignId: id, leadId, step: 0, mailboxId: inserted[0]!.id });
    expect(claim.claimed).toBe(true);
    // claimSend stamps created_at with the database clock; ask at that instant (no flake at midnight).
    const stamped = (await pool.query<{ at: Date }>('SELECT created_at AS at FROM sends WHERE lead_id = $1', [leadId])).rows[0]!.at.getTime();
    expect((await newLeadQuota(pool, id, stamped))!.used).toBe(1);

    const tx = await pool.connect();
    try {
      await tx.query('BEGIN');
      const lead2 = uuidv7();
      await tx.query('INSERT INTO leads (id, client_id, campaign_id, email) VALUES ($1, $2, $3, $4)', [lead2, clientId, id, `t-${randomUUID()}@leads.example.org`]);
      await tx.query("INSERT INTO sends (id, client_id, campaign_id, lead_id, step, status, created_at) VALUES ($1, $2, $3, $4, 0, 'sending', $5)", [uuidv7(), clientId, id, lead2, new Date(stamped)]);
      expect((await newLeadQuota(tx, id, stamped))!.used).toBe(2);
      expect((await newLeadQuota(pool, id, stamped))!.used).toBe(1);
    } finally {
      await tx.query('ROLLBACK');
      tx.release();
    }
  });
});
