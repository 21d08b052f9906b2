import { TestWorkflowEnvironment } from '@temporalio/testing';
import { randomBytes } from 'node:crypto';
import { dataConverterFrom } from '../../core/codec';
import { ensureTestServerExecutable } from '../../scripts/test-server';

/**
 * The data converter of a time-skipping test file: a random payload key, so
 * payloads and failures are sealed as in production. The environment's
 * client carries it; pass it to every Worker.create on the environment too
 * (`...timeSkippingDataConverter`), or neither side can read the other.
 */
export const timeSkippingDataConverter = dataConverterFrom({ TEMPORAL_PAYLOAD_KEY: randomBytes(32).toString('base64') });

/**
 * A time-skipping test environment on the Java test server from Maven
 * (see scripts/test-server.ts), so no download from the internet is needed.
 * The caller owns it: `await env.teardown()` in afterAll.
 */
export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const path = await ensureTestServerExecutable();
  return TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path } },
    client: { ...timeSkippingDataConverter },
  });
}
