import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogLevel } from '@temporalio/worker';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createActivities } from '../activities';
import { ProviderRegistry } from '../activities/providers/registry';
import { dataConverterFrom } from '../core/codec';
import { imapTaskQueue, loadConfigOrExit, type Config } from '../core/config';
import { SecretBox } from '../core/crypto';
import { privacyHashKey } from '../core/privacy';
import { trackingKey } from '../core/tracking/token';
import { unsubscribeKey } from '../core/unsubscribe';
import { createLogger, type Logger } from '../core/logger';
import { mailboxRuleFromConfig } from '../services/mailbox-verdict';
import { migrate } from '../db/migrate';
import { createPool } from '../db/pool';
import { ensureSchedules } from './schedules';

const TEMPORAL_LEVELS: Record<string, LogLevel> = {
  trace: 'TRACE', debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR', fatal: 'ERROR', silent: 'ERROR',
};

export interface WorkerHandle {
  worker: Worker;
  run: Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * The compiled build's prebuilt bundle (dist/workflow-bundle.js, beside
 * dist/worker/) when there is one; else the workflows are bundled from source
 * at start (`npm run dev`, tests that pass a path).
 */
export const PREBUILT_BUNDLE = path.join(__dirname, '..', 'workflow-bundle.js');

function workflowCode(opts: { workflowBundlePath?: string; workflowsPath?: string }): { workflowBundle: { codePath: string } } | { workflowsPath: string } {
  if (opts.workflowBundlePath) return { workflowBundle: { codePath: opts.workflowBundlePath } };
  if (opts.workflowsPath) return { workflowsPath: opts.workflowsPath };
  if (existsSync(PREBUILT_BUNDLE)) return { workflowBundle: { codePath: PREBUILT_BUNDLE } };
  const source = path.join(__dirname, '..', 'workflows', 'index.ts');
  if (!existsSync(source)) throw new Error(`no workflow code: neither ${PREBUILT_BUNDLE} (npm run build) nor ${source}`);
  return { workflowsPath: source };
}

/** Builds deps once, creates the activities, runs the worker. */
export async function startWorker(
  config: Config,
  opts: { logger?: Logger; workflowBundlePath?: string; workflowsPath?: string; installRuntime?: boolean } = {},
): Promise<WorkerHandle> {
  const logger = opts.logger ?? createLogger(config.LOG_LEVEL);
  if (opts.installRuntime !== false) {
    // Temporal's own logs go through pino.
    Runtime.install({
      logger: new DefaultLogger(TEMPORAL_LEVELS[config.LOG_LEVEL] ?? 'INFO', (entry) => {
        const level = entry.level.toLowerCase() as 'info';
        (logger[level] ?? logger.info).call(logger, { ...entry.meta, temporal: true }, entry.message);
      }),
    });
  }
  const pool = createPool(config.DATABASE_URL!, config.DATABASE_POOL_MAX);
  await migrate(pool);
  const box = new SecretBox(config.CREDENTIALS_KEY!);
  const providers = new ProviderRegistry(pool, box);
  const clientConnection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  // Payloads are encrypted (core/codec.ts) by the worker and by the client its activities use alike.
  const { dataConverter } = dataConverterFrom(config);
  const client = new Client({ connection: clientConnection, namespace: config.TEMPORAL_NAMESPACE, dataConverter });
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const mailboxRule = mailboxRuleFromConfig(config);
  const activities = createActivities({
    pool,
    providers,
    logger,
    clock: () => new Date(),
    client,
    publicBaseUrl: config.PUBLIC_BASE_URL ?? `http://${config.HOST}:${config.PORT}`,
    unsubscribeKey: unsubscribeKey(config.CREDENTIALS_KEY!),
    trackingKey: trackingKey(config.CREDENTIALS_KEY!),
    privacyKey: privacyHashKey(config) ?? undefined,
    deliveryGuarantee: config.SEND_DELIVERY_GUARANTEE,
    breaker: {
      failureRate: config.PROVIDER_BREAKER_FAILURE_RATE,
      minAttempts: config.PROVIDER_BREAKER_MIN_ATTEMPTS,
      windowMs: config.PROVIDER_BREAKER_WINDOW_SECONDS * 1000,
      openForMs: config.PROVIDER_BREAKER_OPEN_SECONDS * 1000,
    },
    mailboxRule,
    // The scheduled workflows' activities (reputation controller, daily rotation, domain checks).
    reputation: {
      windowMs: config.REPUTATION_WINDOW_HOURS * 3_600_000,
      providerWindowMs: config.REPUTATION_PROVIDER_WINDOW_MINUTES * 60_000,
      mailboxRestMs: config.MAILBOX_REST_HOURS * 3_600_000,
      mailboxRule,
      domainDeliveryMin: config.REPUTATION_DOMAIN_DELIVERY_MIN,
      domainMinSample: config.REPUTATION_MIN_SAMPLE,
      providerFailureRate: config.REPUTATION_PROVIDER_FAILURE_RATE,
      providerMinAttempts: config.REPUTATION_PROVIDER_MIN_ATTEMPTS,
    },
    dnsServer: config.DNS_SERVER,
    alertWebhookUrl: config.ALERT_WEBHOOK_URL,
    rotation: { hour: config.ROTATION_HOUR, agencyTimezone: config.ROTATION_TIMEZONE },
    // The inbox watchers' sessions (activities/imap.activity.ts).
    imap: { box, config, pollMs: config.IMAP_POLL_SECONDS * 1000 },
  });
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    dataConverter,
    ...workflowCode(opts),
    activities,
  });
  // IMAP sessions are long-running activities: their own task queue and slots, so they never take a send's.
  const imapWorker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: imapTaskQueue(config),
    dataConverter,
    activities: { watchInbox: activities.watchInbox },
    maxConcurrentActivityTaskExecutions: config.IMAP_MAX_SESSIONS,
  });
  const stopImap = () => {
    if (imapWorker.getState() === 'RUNNING') imapWorker.shutdown();
  };
  // Either worker ending ends the other; the process's resources close once both have.
  const both = Promise.allSettled([
    worker.run().finally(stopImap),
    imapWorker.run().finally(() => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
    }),
  ]).then((results) => {
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  });
  const run = both.finally(async () => {
    await providers.closeAll();
    await connection.close();
    await clientConnection.close();
    await pool.end();
  });
  // Reputation controller and daily rotation schedules: created if missing, updated if present.
  if (config.SCHEDULES_ENABLED ?? config.NODE_ENV !== 'test') {
    try {
      await ensureSchedules(client, config, logger);
    } catch (err) {
      worker.shutdown();
      await run;
      throw err;
    }
  }
  return {
    worker,
    run,
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      stopImap();
      await run;
    },
  };
}

if (require.main === module) {
  const config = loadConfigOrExit(process.env, ['DATABASE_URL', 'CREDENTIALS_KEY']);
  startWorker(config)
    .then((h) => {
      // The SDK handles SIGINT/SIGTERM itself (graceful shutdown); exit once it is done.
      return h.run.then(() => process.exit(0));
    })
    .catch((err: unknown) => {
      process.stderr.write(`worker failed: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    });
}
