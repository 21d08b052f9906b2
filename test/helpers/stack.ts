import { Client, Connection } from '@temporalio/client';
import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Pool } from 'pg';
import { buildApp } from '../../api/app';
import { dataConverterFrom } from '../../core/codec';
import { loadConfig, type Config } from '../../core/config';
import { SecretBox } from '../../core/crypto';
import { createLogger } from '../../core/logger';
import { createPool } from '../../db/pool';
import { startWorker, type WorkerHandle } from '../../worker/main';
import { startDnsServer } from '../fakes/dns-server';
import { testEnv } from './test-env';
import type { DnsZone } from './verified-domains';

export interface Stack {
  config: Config;
  app: FastifyInstance;
  pool: Pool;
  temporal: Client;
  adminKey: string;
  worker: WorkerHandle | null;
  /**
   * The stack's own DNS server (DNS_SERVER points at it): test/helpers/verified-domains.ts
   * publishes domain proofs and records in `zone`. Null when the caller passed its own DNS_SERVER.
   */
  dns: { zone: DnsZone; address: string; asked: string[] } | null;
  close(): Promise<void>;
}

/** Test-only config: a random operator key, credentials key and task queue on the shared servers. */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: testEnv('databaseUrl'),
    TEMPORAL_ADDRESS: testEnv('temporalAddress'),
    TEMPORAL_TASK_QUEUE: `test-${randomUUID()}`,
    ADMIN_API_KEY: `admin-${randomBytes(16).toString('hex')}`,
    CREDENTIALS_KEY: randomBytes(32).toString('base64'),
    TEMPORAL_PAYLOAD_KEY: randomBytes(32).toString('base64'), // every test's history is encrypted, as in production
    ...overrides,
  });
}

/**
 * The API (built with buildApp and driven by inject), a local DNS server
 * serving `dnsZone` (unless env gives a DNS_SERVER) and, optionally, a worker
 * on its own task queue.
 */
export async function startStack(opts: { worker?: boolean; env?: Record<string, string>; dnsZone?: DnsZone } = {}): Promise<Stack> {
  const zone: DnsZone = opts.dnsZone ?? new Map();
  const dnsServer = opts.env?.DNS_SERVER ? null : await startDnsServer(zone);
  const config = testConfig({ ...(dnsServer ? { DNS_SERVER: dnsServer.address } : {}), ...opts.env });
  const pool = createPool(config.DATABASE_URL!, 5);
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, ...dataConverterFrom(config) });
  const app = await buildApp({ config, pool, temporal, box: new SecretBox(config.CREDENTIALS_KEY!) });
  const worker = opts.worker
    ? await startWorker(config, {
        logger: createLogger('silent'),
        workflowBundlePath: testEnv('workflowBundle'),
        installRuntime: false,
      })
    : null;
  return {
    config,
    app,
    pool,
    temporal,
    adminKey: config.ADMIN_API_KEY!,
    worker,
    dns: dnsServer ? { zone, address: dnsServer.address, asked: dnsServer.asked } : null,
    async close() {
      await worker?.shutdown();
      await app.close();
      await connection.close();
      await pool.end();
      await dnsServer?.close();
    },
  };
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

export function json<T = Record<string, unknown>>(res: LightMyRequestResponse): T {
  return JSON.parse(res.body) as T;
}

/** Operator creates a client; returns its id and key. */
export async function newClient(stack: Stack, name = `client-${randomUUID().slice(0, 8)}`) {
  const res = await stack.app.inject({ method: 'POST', url: '/v1/clients', headers: bearer(stack.adminKey), payload: { name } });
  if (res.statusCode !== 201) throw new Error(`create client: ${res.statusCode} ${res.body}`);
  return json<{ id: string; apiKey: string }>(res);
}

/** Operator creates an SMTP provider account pointing at a local server. */
export async function newSmtpProvider(stack: Stack, port: number, name = `smtp-${randomUUID().slice(0, 8)}`) {
  const res = await stack.app.inject({
    method: 'POST',
    url: '/v1/providers',
    headers: bearer(stack.adminKey),
    payload: { name, kind: 'smtp', config: { host: '127.0.0.1', port, user: 'relay-user', pass: 'relay-secret-pass' } },
  });
  if (res.statusCode !== 201) throw new Error(`create provider: ${res.statusCode} ${res.body}`);
  return json<{ id: string; name: string }>(res);
}

/** Polls until fn returns a truthy value (no fixed sleeps). */
export async function eventually<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
