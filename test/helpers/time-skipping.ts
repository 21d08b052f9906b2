import { TestWorkflowEnvironment } from '@temporalio/testing';
import { ensureTestServerExecutable } from '../../scripts/test-server';

/**
 * A time-skipping test environment on the Java test server from Maven
 * (see scripts/test-server.ts), so no download from the internet is needed.
 * The caller owns it: `await env.teardown()` in afterAll.
 */
export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const path = await ensureTestServerExecutable();
  return TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path } },
  });
}
