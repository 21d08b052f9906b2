import { Client, Connection } from '@temporalio/client';
import { dataConverterFrom } from '../core/codec';
import { loadConfigOrExit } from '../core/config';
import { SecretBox } from '../core/crypto';
import { createLogger } from '../core/logger';
import { migrate } from '../db/migrate';
import { createPool } from '../db/pool';
import { buildApp } from './app';

/** Runs the API: connects Postgres and Temporal, migrates, listens, closes cleanly on SIGINT/SIGTERM. */
export async function runServer(env: NodeJS.ProcessEnv = process.env): Promise<() => Promise<void>> {
  const config = loadConfigOrExit(env, ['DATABASE_URL', 'ADMIN_API_KEY', 'CREDENTIALS_KEY']);
  const logger = createLogger(config.LOG_LEVEL);
  const pool = createPool(config.DATABASE_URL!, config.DATABASE_POOL_MAX);
  await migrate(pool);
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, ...dataConverterFrom(config) });
  const app = await buildApp({ config, pool, temporal, box: new SecretBox(config.CREDENTIALS_KEY!) }, { logger });
  await app.listen({ host: config.HOST, port: config.PORT });
  let closing: Promise<void> | undefined;
  return () =>
    (closing ??= (async () => {
      await app.close();
      await connection.close();
      await pool.end();
    })());
}

if (require.main === module) {
  runServer()
    .then((close) => {
      for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void close().then(() => process.exit(0)));
    })
    .catch((err: unknown) => {
      process.stderr.write(`api failed to start: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    });
}
