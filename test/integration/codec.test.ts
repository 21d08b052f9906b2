import type { Payload } from '@temporalio/common';
import { Client, Connection } from '@temporalio/client';
import { randomBytes, randomUUID } from 'node:crypto';
import { AesGcmPayloadCodec, ENCODING, METADATA_KEY_ID, PayloadDecryptError, payloadToJson } from '../../core/codec';
import { campaignGroupWorkflowId, campaignWorkflowId, mailboxWorkflowId } from '../../workflows/ids';
import { CAMPAIGN_GROUPS_PATCH } from '../../workflows/campaign.workflow';
import { GROUP_SHORT_RUNS_PATCH, REPORT_WITH_RESERVATION_PATCH } from '../../workflows/campaign-group.workflow';
import { HISTORY_CAP_PATCH, ONE_REPUTATION_RULE_PATCH, PAUSE_REASONS_PATCH, SHORT_RUNS_PATCH } from '../../workflows/messages/mailbox';
import { SmtpSink } from '../fakes/smtp-sink';
import { campaignWithLeads } from '../helpers/campaign-fixture';
import { bearer, json, newClient, newSmtpProvider, startStack, type Stack } from '../helpers/stack';

const key = () => randomBytes(32).toString('base64');
const jsonPayload = (value: unknown): Payload => ({
  metadata: { encoding: new Uint8Array(Buffer.from('json/plain')) },
  data: new Uint8Array(Buffer.from(JSON.stringify(value))),
});
const text = (b?: Uint8Array | null) => Buffer.from(b ?? new Uint8Array()).toString('utf8');

/** Every Payload object anywhere in a history (inputs, results, signals, updates, failures' details). */
/** Patch markers (workflow versioning) are written by Temporal's core SDK itself, outside the codec: they carry only the patch id. */
const patchMarkers: Payload[] = [];

function payloadsIn(node: unknown, out: Payload[] = []): Payload[] {
  if (Array.isArray(node)) for (const n of node) payloadsIn(n, out);
  else if (node && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    if (o.markerName === 'core_patch') {
      patchMarkers.push(...payloadsIn(o.details, []));
      return out;
    }
    if (o.metadata && typeof o.metadata === 'object' && 'data' in o && !('indexedFields' in o)) out.push(o as Payload);
    else for (const [k, v] of Object.entries(o)) if (k !== 'searchAttributes' && k !== 'header') payloadsIn(v, out);
  }
  return out;
}

describe('payload codec (AES-256-GCM)', () => {
  it('round-trips a payload, with the key id in its metadata and nothing in clear', async () => {
    const codec = new AesGcmPayloadCodec(key());
    const original = jsonPayload({ email: 'ann@leads.example.org', vars: { firstName: 'Annabelle' } });
    const [sealed] = await codec.encode([original]);
    expect(text(sealed!.metadata!.encoding)).toBe(ENCODING);
    expect(text(sealed!.metadata![METADATA_KEY_ID])).toBe(codec.currentKeyId);
    expect(Buffer.from(sealed!.data!).toString('latin1')).not.toContain('ann@leads');
    const [opened] = await codec.decode([sealed!]);
    expect(text(opened!.data)).toBe(text(original.data));
    expect(text(opened!.metadata!.encoding)).toBe('json/plain');
    // The same payload twice is two different ciphertexts (a fresh IV each time).
    const [again] = await codec.encode([original]);
    expect(Buffer.from(again!.data!).equals(Buffer.from(sealed!.data!))).toBe(false);
  });

  it('after a rotation, decodes payloads of the old key and seals new ones with the new key', async () => {
    const [oldKey, newKey] = [key(), key()];
    const before = new AesGcmPayloadCodec(oldKey);
    const [sealedBefore] = await before.encode([jsonPayload('from before')]);
    const after = new AesGcmPayloadCodec(newKey, [oldKey]);
    expect(after.currentKeyId).not.toBe(before.currentKeyId);
    expect(text((await after.decode([sealedBefore!]))[0]!.data)).toBe('"from before"');
    const [sealedAfter] = await after.encode([jsonPayload('after')]);
    expect(text(sealedAfter!.metadata![METADATA_KEY_ID])).toBe(after.currentKeyId);
    // The old process cannot read what the new key sealed: it fails loudly, naming the key.
    await expect(before.decode([sealedAfter!])).rejects.toThrow(new RegExp(`encrypted with key ${after.currentKeyId}, which this process does not hold`));
  });

  it('fails loudly on a wrong key, on altered data, and lets plain payloads through', async () => {
    const codec = new AesGcmPayloadCodec(key());
    const [sealed] = await codec.encode([jsonPayload({ x: 1 })]);
    await expect(new AesGcmPayloadCodec(key()).decode([sealed!])).rejects.toBeInstanceOf(PayloadDecryptError);
    // Same key id in the metadata, other key material: the GCM tag does not verify.
    const forged: Payload = { ...sealed!, metadata: { ...sealed!.metadata } };
    const other = new AesGcmPayloadCodec(key());
    forged.metadata![METADATA_KEY_ID] = new Uint8Array(Buffer.from(other.currentKeyId));
    await expect(other.decode([forged])).rejects.toThrow(/does not decrypt/);
    const altered = new Uint8Array(sealed!.data!);
    altered[20] ^= 1;
    await expect(codec.decode([{ ...sealed!, data: altered }])).rejects.toThrow(/does not decrypt: wrong key material or altered data/);
    expect(() => new AesGcmPayloadCodec('c2hvcnQ=')).toThrow(/32 bytes/);
    const plain = jsonPayload('plain');
    expect(await codec.decode([plain])).toEqual([plain]);
  });
});

describe('encrypted Temporal histories', () => {
  let stack: Stack;
  let sink: SmtpSink;
  let plainConnection: Connection;
  let plain: Client;
  let completedCampaignId: string | undefined;

  beforeAll(async () => {
    sink = await new SmtpSink().start();
    stack = await startStack({ worker: true, env: { TEMPORAL_PAYLOAD_KEY: key(), CODEC_CORS_ORIGINS: 'http://ui.example.test:8233' } });
    plainConnection = await Connection.connect({ address: stack.config.TEMPORAL_ADDRESS });
    plain = new Client({ connection: plainConnection, namespace: stack.config.TEMPORAL_NAMESPACE }); // no codec
  });
  afterAll(async () => {
    await plainConnection?.close();
    await stack?.close();
    await sink?.stop();
  });

  it('a campaign leaves no lead address, variable or id in clear; the codec reads it all back', async () => {
    const client = await newClient(stack);
    const provider = await newSmtpProvider(stack, sink.port);
    const c = await campaignWithLeads(stack, client, { providers: [provider.name], mailboxes: 2, leads: 4 });
    await c.start();
    await c.waitDone();
    // The API says completed once the rows are settled, a moment before the campaign run records its result: wait for that event.
    await stack.temporal.workflow.getHandle(campaignWorkflowId(c.campaignId)).result();
    completedCampaignId = c.campaignId;
    const { rows: sends } = await stack.pool.query<{ id: string; lead_id: string; mailbox_id: string }>(
      'SELECT id, lead_id, mailbox_id FROM sends WHERE campaign_id = $1', [c.campaignId]);
    expect(sends).toHaveLength(4);
    const { rows: mailboxes } = await stack.pool.query<{ address: string }>('SELECT address FROM mailboxes WHERE id = ANY($1)', [c.mailboxIds]);

    const histories = await Promise.all([
      plain.workflow.getHandle(campaignWorkflowId(c.campaignId)).fetchHistory(),
      plain.workflow.getHandle(campaignGroupWorkflowId(c.campaignId, 0, 0)).fetchHistory(),
      ...mailboxes.map((m) => plain.workflow.getHandle(mailboxWorkflowId(m.address)).fetchHistory()),
    ]);
    const codec = new AesGcmPayloadCodec(stack.config.TEMPORAL_PAYLOAD_KEY!);
    let decodedText = '';
    for (const history of histories) {
      const raw = JSON.stringify(history, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v));
      for (const email of c.emails) expect(raw).not.toContain(email);
      for (const s of sends) {
        expect(raw).not.toContain(s.lead_id);
        expect(raw).not.toContain(s.id);
      }
      expect(raw).not.toContain('"status":"completed"');
      const payloads = payloadsIn(history);
      expect(payloads.length).toBeGreaterThan(0);
      for (const p of payloads) expect(text(p.metadata!.encoding)).toBe(ENCODING);
      decodedText += (await codec.decode(payloads)).map((p) => text(p.data)).join('\n');
    }
    // The only payloads outside the codec: patch markers, which name their patch and nothing else.
    expect(patchMarkers.length).toBeGreaterThan(0);
    for (const p of patchMarkers) {
      const marker = JSON.parse(text(p.data)) as { id: string };
      expect(marker).toEqual({ id: marker.id, deprecated: false });
      expect([CAMPAIGN_GROUPS_PATCH, REPORT_WITH_RESERVATION_PATCH, GROUP_SHORT_RUNS_PATCH, HISTORY_CAP_PATCH, SHORT_RUNS_PATCH, ONE_REPUTATION_RULE_PATCH, PAUSE_REASONS_PATCH]).toContain(marker.id);
    }
    // Decoded, the same payloads are the campaign's inputs and results again.
    expect(decodedText).toContain(`"campaignId":"${c.campaignId}"`);
    for (const id of new Set(sends.map((s) => s.mailbox_id))) expect(decodedText).toContain(`"mailboxId":"${id}"`);
    expect(decodedText).toContain('"status":"completed","sent":4');
    // Search attributes stay readable (ids only), so the Web UI can still filter.
    const described = await plain.workflow.getHandle(campaignWorkflowId(c.campaignId)).describe();
    expect(described.raw.workflowExecutionInfo?.searchAttributes?.indexedFields?.OutreachCampaign).toBeDefined();

    // Every send activity carries a summary for the Web UI: sealed like the payloads, and once
    // decoded it names the campaign, the step, the sender mailbox and the provider, never the recipient.
    const { rows: [campaign] } = await stack.pool.query<{ name: string }>('SELECT name FROM campaigns WHERE id = $1', [c.campaignId]);
    const scheduled = histories[1]!.events! // the group runs the lanes
      .filter((e) => /^send(Batch|Step)$/.test(e.activityTaskScheduledEventAttributes?.activityType?.name ?? ''))
      .map((e) => ({ summary: e.userMetadata!.summary! }));
    expect(scheduled.length).toBeGreaterThanOrEqual(2); // one lane per mailbox at least
    const summaries: string[] = [];
    for (const e of scheduled) {
      expect(text(e.summary.metadata!.encoding)).toBe(ENCODING);
      summaries.push(JSON.parse(text((await codec.decode([e.summary]))[0]!.data)) as string);
    }
    for (const summary of summaries) {
      expect(summary).toMatch(new RegExp(`^\\d+ sends? · campaign "${campaign!.name}" · step 1/1 · from \\S+ via ${provider.name}$`));
      for (const email of c.emails) expect(summary).not.toContain(email);
    }
    // Each mailbox that sent is named by the summaries of its lane.
    for (const m of mailboxes) expect(summaries.some((s) => s.includes(`from ${m.address} `))).toBe(true);
  }, 120_000);

  it('a lead address and variables given to a workflow are sealed in its history; a client with the wrong key fails loudly', async () => {
    const email = `secret-${randomUUID().slice(0, 8)}@leads.example.org`;
    const handle = await stack.temporal.workflow.start('noSuchWorkflow', {
      taskQueue: `nobody-${randomUUID()}`,
      workflowId: `codec-probe-${randomUUID()}`,
      args: [{ email, vars: { firstName: 'Gwendolyn-Probe', company: 'Probe Industries' } }],
    });
    try {
      const raw = JSON.stringify(await plain.workflow.getHandle(handle.workflowId).fetchHistory(), (_k, v) =>
        v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v);
      for (const secret of [email, 'Gwendolyn-Probe', 'Probe Industries']) expect(raw).not.toContain(secret);

      // The API's codec endpoint (what the Web UI calls) opens it for the operator only.
      const history = await plain.workflow.getHandle(handle.workflowId).fetchHistory();
      const input = payloadsIn(history.events![0]!.workflowExecutionStartedEventAttributes!.input)[0]!;
      const body = { payloads: [payloadToJson(input)] };
      for (const headers of [{}, bearer('wrong-key-wrong-key-wrong'), bearer((await newClient(stack)).apiKey)]) {
        expect((await stack.app.inject({ method: 'POST', url: '/codec/decode', headers, payload: body })).statusCode).toBe(401);
      }
      const decoded = await stack.app.inject({ method: 'POST', url: '/codec/decode', headers: bearer(stack.adminKey), payload: body });
      expect(decoded.statusCode).toBe(200);
      const out = json<{ payloads: { metadata: Record<string, string>; data: string }[] }>(decoded).payloads[0]!;
      expect(Buffer.from(out.metadata.encoding!, 'base64').toString()).toBe('json/plain');
      expect(JSON.parse(Buffer.from(out.data, 'base64').toString())).toEqual({ email, vars: { firstName: 'Gwendolyn-Probe', company: 'Probe Industries' } });
      // Encode through the endpoint, decode locally: the same key.
      const encoded = await stack.app.inject({ method: 'POST', url: '/codec/encode', headers: bearer(stack.adminKey), payload: { payloads: [out] } });
      expect(Buffer.from(json<typeof body>(encoded).payloads[0]!.metadata!.encoding!, 'base64').toString()).toBe(ENCODING);

      // A client holding another key cannot read the workflow's input: it throws, naming the key.
      const wrongConnection = await Connection.connect({ address: stack.config.TEMPORAL_ADDRESS });
      try {
        const wrong = new Client({ connection: wrongConnection, dataConverter: { payloadCodecs: [new AesGcmPayloadCodec(key())] } });
        const keyId = new AesGcmPayloadCodec(stack.config.TEMPORAL_PAYLOAD_KEY!).currentKeyId;
        expect(completedCampaignId).toBeDefined();
        await expect(wrong.workflow.getHandle(campaignWorkflowId(completedCampaignId!)).result()).rejects.toThrow(
          `payload was encrypted with key ${keyId}, which this process does not hold`);
        // The right key reads the same result.
        await expect(stack.temporal.workflow.getHandle(campaignWorkflowId(completedCampaignId!)).result()).resolves.toMatchObject({ status: 'completed', sent: 4 });
      } finally {
        await wrongConnection.close();
      }
    } finally {
      await handle.terminate('probe done').catch(() => undefined);
    }
  });

  it('the codec endpoint: CORS for the Web UI origin only, and a cookie sign-in for browsers', async () => {
    const pre = await stack.app.inject({
      method: 'OPTIONS', url: '/codec/decode',
      headers: { origin: 'http://ui.example.test:8233', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' },
    });
    expect(pre.statusCode).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('http://ui.example.test:8233');
    expect(pre.headers['access-control-allow-credentials']).toBe('true');
    expect(String(pre.headers['access-control-allow-headers'])).toContain('x-namespace');
    const foreign = await stack.app.inject({ method: 'OPTIONS', url: '/codec/decode', headers: { origin: 'http://evil.example.test' } });
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined();

    expect((await stack.app.inject({ method: 'POST', url: '/codec/login', payload: { key: 'not-the-operator-key' } })).statusCode).toBe(401);
    const login = await stack.app.inject({ method: 'POST', url: '/codec/login', payload: { key: stack.adminKey } });
    expect(login.statusCode).toBe(200);
    const cookie = String(login.headers['set-cookie']);
    expect(cookie).toMatch(/^outreach_codec=[A-Za-z0-9_-]{20,}; HttpOnly; SameSite=Lax; Path=\/codec/);
    expect(cookie).not.toContain(stack.adminKey);
    const sealed = await new AesGcmPayloadCodec(stack.config.TEMPORAL_PAYLOAD_KEY!).encode([jsonPayload({ hello: 'ui' })]);
    const viaCookie = await stack.app.inject({
      method: 'POST', url: '/codec/decode',
      headers: { cookie: cookie.split(';')[0]!, origin: 'http://ui.example.test:8233', 'x-namespace': 'default' },
      payload: { payloads: sealed.map(payloadToJson) },
    });
    expect(viaCookie.statusCode).toBe(200);
    expect(viaCookie.headers['access-control-allow-origin']).toBe('http://ui.example.test:8233');
    expect(Buffer.from(json<{ payloads: { data: string }[] }>(viaCookie).payloads[0]!.data, 'base64').toString()).toBe('{"hello":"ui"}');
    // A payload sealed with another key is a clear 422, not a 500.
    const alien = await new AesGcmPayloadCodec(key()).encode([jsonPayload('x')]);
    const bad = await stack.app.inject({ method: 'POST', url: '/codec/decode', headers: bearer(stack.adminKey), payload: { payloads: alien.map(payloadToJson) } });
    expect(bad.statusCode).toBe(422);
    expect(bad.body).toMatch(/does not hold/);
  });
});
