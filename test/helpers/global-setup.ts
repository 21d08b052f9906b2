import { bundleWorkflowCode } from '@temporalio/worker';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FAILURE_CONVERTER_PATH } from '../../core/codec';
import { startDevServer, type DevServerHandle } from '../../scripts/temporal-cli';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { createTestDatabase } from './databases';
import { DEFAULT_ADMIN_DATABASE_URL, TEST_ENV } from './test-env';

declare global {
  var __OUTREACH_TEARDOWN__: (() => Promise<void>) | undefined;
}

/**
 * One real Temporal dev server, one migrated Postgres database and one
 * workflow bundle for the whole run; tests isolate themselves with random
 * IDs, task queues and tenants.
 */
export default async function globalSetup(): Promise<void> {
  // The dev server's own output is noise unless it fails to start (then startDevServer's error carries its tail).
  const log = (m: string) => {
    if (!m.startsWith('[temporal]')) process.stderr.write(`[setup] ${m}\n`);
  };
  const adminUrl = process.env.TEST_DATABASE_ADMIN_URL ?? DEFAULT_ADMIN_DATABASE_URL;
  const db = await createTestDatabase(adminUrl).catch((err: Error) => {
    throw new Error(
      `cannot create a test database through ${adminUrl.replace(/:[^:@/]*@/, ':***@')}: ${err.message}\n` +
        'Start PostgreSQL and create the test role with scripts/setup-postgres.sh (or set TEST_DATABASE_ADMIN_URL).',
    );
  });
  let server: DevServerHandle | undefined;
  try {
    server = await startDevServer({ headless: true, searchAttributes: SEARCH_ATTRIBUTES, log });
    const dir = await mkdtemp(path.join(os.tmpdir(), 'outreach-bundle-'));
    const bundlePath = path.join(dir, 'workflow-bundle.js');
    const { code } = await bundleWorkflowCode({
      workflowsPath: path.join(__dirname, '../../workflows/index.ts'),
      // As a worker bundles it (worker/main.ts): workflow failures go through the same failure converter.
      failureConverterPath: FAILURE_CONVERTER_PATH,
      logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: log, error: log },
    });
    await writeFile(bundlePath, code);
    process.env[TEST_ENV.databaseUrl] = db.url;
    process.env[TEST_ENV.adminDatabaseUrl] = adminUrl;
    process.env[TEST_ENV.temporalAddress] = server.address;
    process.env[TEST_ENV.workflowBundle] = bundlePath;
  } catch (err) {
    await server?.stop();
    await db.drop();
    throw err;
  }
  const s = server;
  globalThis.__OUTREACH_TEARDOWN__ = async () => {
    await s.stop();
    await db.drop();
  };
}
