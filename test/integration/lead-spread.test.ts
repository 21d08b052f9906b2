import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { createPool } from '../../db/pool';
import { releaseOutsidePlan, spreadUnassigned } from '../../db/repositories/lead-work';
import { testEnv } from '../helpers/test-env';

/**
 * How a campaign's leads are given to its mailboxes, on real PostgreSQL:
 * spread by load at start (other campaigns' unsent leads and the last 24 h
 * of sends count), given back when their mailbox leaves the plan.
 */
describe('lead spreading over a campaign’s mailboxes (PostgreSQL)', () => {
  let pool: Pool;
  beforeAll(() => {
    pool = createPool(testEnv('databaseUrl'), 3);
  });
  afterAll(async () => {
    await pool?.end();
  });

  async function fixture(mailboxCount: number) {
    const clientId = randomUUID();
    await pool.query('INSERT INTO clients (id, name) VALUES ($1, $2)', [clientId, 'spread']);
    const mailboxes: string[] = [];
    for (let i = 0; i < mailboxCount; i++) {
      const id = randomUUID();
      await pool.query(`INSERT INTO mailboxes (id, client_id, address, provider_ids, send_window, limits) VALUES ($1, $2, $3, '{}', '{}', '{}')`, [id, clientId, `m${i}-${id.slice(0, 8)}@spread.example.com`]);
      mailboxes.push(id);
    }
    const campaign = async (leads: number) => {
      const id = randomUUID();
      await pool.query(`INSERT INTO campaigns (id, client_id, name, status, steps, mailbox_selector) VALUES ($1, $2, 'c', 'running', '[]', '{}')`, [id, clientId]);
      await pool.query(
        `INSERT INTO leads (id, client_id, campaign_id, email, status) SELECT gen_random_uuid(), $1, $2, 'l' || g || '-' || $4 || '@leads.example.org', 'pending' FROM generate_series(1, $3) g`,
        [clientId, id, leads, id.slice(0, 8)],
      );
      return id;
    };
    const held = async (campaignId: string) => {
      const { rows } = await pool.query<{ mailbox_id: string | null; n: number }>('SELECT mailbox_id, count(*)::int AS n FROM leads WHERE campaign_id = $1 GROUP BY 1', [campaignId]);
      return new Map(rows.map((r) => [r.mailbox_id, r.n]));
    };
    return { clientId, mailboxes, campaign, held };
  }

  it('three campaigns started one after another on a shared pool leave every mailbox with the same load', async () => {
    const f = await fixture(12);
    const campaigns = [await f.campaign(20), await f.campaign(20), await f.campaign(20)];
    for (const c of campaigns) {
      const counts = await spreadUnassigned(pool, c, f.mailboxes);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(20);
      expect((await f.held(c)).get(null)).toBeUndefined(); // every lead given to a mailbox
    }
    const { rows } = await pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM leads WHERE campaign_id = ANY($1::uuid[]) GROUP BY mailbox_id', [campaigns]);
    expect(rows.map((r) => r.n)).toEqual(Array(12).fill(5));
    // Spreading again finds nothing left to give.
    expect(await spreadUnassigned(pool, campaigns[0]!, f.mailboxes)).toEqual(Array(12).fill(0));
  });

  it('counts a mailbox’s sends of the last 24 hours as load', async () => {
    const f = await fixture(2);
    const old = await f.campaign(1);
    const { rows: [lead] } = await pool.query<{ id: string }>('SELECT id FROM leads WHERE campaign_id = $1', [old]);
    // Mailbox 0 sent 4 today.
    for (let i = 0; i < 4; i++) {
      await pool.query(
        `INSERT INTO sends (id, client_id, campaign_id, lead_id, step, mailbox_id, status, sent_at) VALUES ($1, $2, $3, $4, $5, $6, 'sent', now())`,
        [randomUUID(), f.clientId, old, lead!.id, i, f.mailboxes[0]],
      );
    }
    const c = await f.campaign(6);
    expect(await spreadUnassigned(pool, c, f.mailboxes)).toEqual([1, 5]);
  });

  it('gives back the unsent first-step leads of mailboxes no longer in the plan, and only those', async () => {
    const f = await fixture(3);
    const c = await f.campaign(9);
    await spreadUnassigned(pool, c, f.mailboxes);
    // Mailbox 2's first lead went out already (a follow-up waits on it); that one stays.
    await pool.query(`UPDATE leads SET status = 'active', next_step = 1 WHERE id = (SELECT id FROM leads WHERE campaign_id = $1 AND mailbox_id = $2 LIMIT 1)`, [c, f.mailboxes[2]]);
    expect(await releaseOutsidePlan(pool, c, f.mailboxes.slice(0, 2))).toBe(2);
    const held = await f.held(c);
    expect([held.get(f.mailboxes[0]!), held.get(f.mailboxes[1]!), held.get(f.mailboxes[2]!), held.get(null)]).toEqual([3, 3, 1, 2]);
    // The next start's spread gives them to the mailboxes still in the plan.
    expect(await spreadUnassigned(pool, c, f.mailboxes.slice(0, 2))).toEqual([1, 1]);
  });
});
