import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createTimeSkippingEnv, timeSkippingDataConverter } from '../helpers/time-skipping';
import { sleepyWorkflow } from '../helpers/workflows/sleepy.workflow';

const DAY_MS = 24 * 60 * 60 * 1000;

describe('time-skipping test server (Java build from Maven)', () => {
  let env: TestWorkflowEnvironment;

  beforeAll(async () => {
    env = await createTimeSkippingEnv();
  });

  afterAll(async () => {
    await env?.teardown();
  });

  it('runs a 30-day sleep in seconds of wall time', async () => {
    expect(env.supportsTimeSkipping).toBe(true);
    const taskQueue = `time-skipping-${randomUUID()}`;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      ...timeSkippingDataConverter,
      taskQueue,
      workflowsPath: require.resolve('../helpers/workflows/sleepy.workflow'),
    });

    const wallStart = Date.now();
    const result = await worker.runUntil(
      env.client.workflow.execute(sleepyWorkflow, {
        args: [30 * DAY_MS],
        taskQueue,
        workflowId: `sleepy-${randomUUID()}`,
      }),
    );
    const wallMs = Date.now() - wallStart;

    expect(result.wokeAt - result.startedAt).toBeGreaterThanOrEqual(30 * DAY_MS);
    expect(wallMs).toBeLessThan(15_000);
  });
});
