import { randomUUID } from 'node:crypto';
import { bearer, eventually, json, type Stack } from './stack';
import { verifyStackDomains } from './verified-domains';

export const ALWAYS_OPEN = { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '00:00', end: '24:00' };
export const FAST_LIMITS = { dailyMax: 10_000, hourlyMax: 1_000, minIntervalSeconds: 0, jitterRatio: 0 };

/** Operator: a provider account of any kind, through the API. */
export async function newProvider(stack: Stack, kind: 'ses' | 'sendgrid' | 'mailgun' | 'smtp', config: Record<string, unknown>) {
  const res = await stack.app.inject({
    method: 'POST', url: '/v1/providers', headers: bearer(stack.adminKey),
    payload: { name: `${kind}-${randomUUID().slice(0, 8)}`, kind, config },
  });
  if (res.statusCode !== 201) throw new Error(`create provider: ${res.statusCode} ${res.body}`);
  return json<{ id: string; name: string }>(res);
}

/**
 * A client's mailboxes (fast, always-open pacing unless overridden) at
 * domains of its own it has verified (test/helpers/verified-domains.ts), a
 * one-step template and a draft campaign on that pool with `leads` leads.
 */
export async function campaignWithLeads(
  stack: Stack,
  client: { id: string; apiKey: string },
  opts: {
    providers: string[]; mailboxes: number; leads: number; mailboxOverrides?: Record<string, unknown>; steps?: number[];
    /** The template every step sends (default: a short note with an unsubscribe link). */
    template?: { subject: string; text: string; html?: string };
    /** More fields of POST /v1/campaigns, e.g. tracking. */
    campaign?: Record<string, unknown>;
  },
) {
  const tag = randomUUID().slice(0, 8);
  const pool = `pool-${tag}`;
  const auth = bearer(client.apiKey);
  const rows = Array.from({ length: opts.mailboxes }, (_, i) => ({
    address: `s${i}-${tag}@send${i % 3}-${tag}.example.com`, pool, providers: opts.providers, warmup: null,
    window: ALWAYS_OPEN, limits: FAST_LIMITS, ...opts.mailboxOverrides,
  }));
  await verifyStackDomains(stack, client.apiKey, rows.map((r) => String(r.address)));
  const mb = await stack.app.inject({ method: 'POST', url: '/v1/mailboxes', headers: auth, payload: { mailboxes: rows } });
  const created = json<{ created: number; ids: string[] }>(mb);
  if (created.created !== opts.mailboxes) throw new Error(`mailboxes: ${mb.body}`);
  const tpl = json<{ id: string }>(await stack.app.inject({
    method: 'POST', url: '/v1/templates', headers: auth,
    payload: { name: 't', ...(opts.template ?? { subject: 'Hello {{firstName|there}}', text: 'Hi {{firstName|there}}, a short note.\nUnsubscribe: {{unsubscribeUrl}}', html: '<p>Hi {{firstName|there}}</p><p><a href="{{unsubscribeUrl}}">Unsubscribe</a></p>' }) },
  }));
  const camp = json<{ id: string }>(await stack.app.inject({
    method: 'POST', url: '/v1/campaigns', headers: auth,
    payload: { name: `c-${tag}`, steps: (opts.steps ?? [0]).map((delayDays) => ({ templateId: tpl.id, delayDays })), mailboxes: { pool }, ...opts.campaign },
  }));
  const emails = Array.from({ length: opts.leads }, (_, i) => `lead${i}-${tag}@leads.example.org`);
  const up = await stack.app.inject({
    method: 'POST', url: `/v1/campaigns/${camp.id}/leads`, headers: auth,
    payload: { leads: emails.map((email, i) => ({ email, vars: { firstName: `L${i}` } })) },
  });
  if (json<{ accepted: number }>(up).accepted !== opts.leads) throw new Error(`leads: ${up.body}`);
  return {
    campaignId: camp.id,
    templateId: tpl.id,
    pool,
    mailboxIds: created.ids,
    /** The mailboxes' addresses, in the order of mailboxIds. */
    addresses: rows.map((r) => String(r.address)),
    emails,
    tag,
    start: async () => {
      const res = await stack.app.inject({ method: 'POST', url: `/v1/campaigns/${camp.id}/start`, headers: auth });
      if (res.statusCode !== 202) throw new Error(`start: ${res.body}`);
    },
    waitDone: (timeoutMs = 120_000) =>
      eventually(async () => {
        const res = json<{ status: string }>(await stack.app.inject({ method: 'GET', url: `/v1/campaigns/${camp.id}`, headers: auth }));
        return res.status === 'completed';
      }, timeoutMs, 250),
  };
}

/** How many times each address appears across the fakes' records. */
export function deliveriesPerAddress(...recordLists: { to: string[] }[][]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const list of recordLists) for (const r of list) for (const to of r.to) counts.set(to, (counts.get(to) ?? 0) + 1);
  return counts;
}
