import { bundleWorkflowCode } from '@temporalio/worker';
import path from 'node:path';
import { dataConverterFrom } from '../../core/codec';
import { FIXTURE_PAYLOAD_KEY, fixtureHistories, replayHistories } from '../../scripts/replay';
import { testEnv } from '../helpers/test-env';

/**
 * The deploy gate (`npm run replay`, scripts/replay.ts): every committed
 * history replays on today's code, and a workflow whose command order changed
 * without a patch is refused, named, with Temporal's nondeterminism error.
 */
describe('the replay gate', () => {
  const converter = dataConverterFrom({ TEMPORAL_PAYLOAD_KEY: FIXTURE_PAYLOAD_KEY });

  it('passes every committed fixture on the current workflow code', async () => {
    const histories = await fixtureHistories();
    expect(histories.length).toBeGreaterThanOrEqual(10);
    const { replayed, failures } = await replayHistories(histories, { workflowBundle: { codePath: testEnv('workflowBundle') } }, converter);
    expect(failures).toEqual([]);
    expect(replayed).toBe(histories.length);
  }, 120_000);

  it('refuses a recorded rotation run on code that swapped two of its commands without a patch', async () => {
    const rotation = (await fixtureHistories()).filter((h) => h.workflowId.startsWith('fixture-rotation-run'));
    expect(rotation).toHaveLength(1);
    const { code } = await bundleWorkflowCode({
      workflowsPath: path.join(__dirname, '../fixtures/mutated-workflows/index.ts'),
      logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
    });
    const { replayed, failures } = await replayHistories(rotation, { workflowBundle: { code } }, converter);
    expect(replayed).toBe(1);
    expect(failures).toEqual([{ workflowId: rotation[0]!.workflowId, error: expect.stringMatching(/^DeterminismViolationError: .*/s) }]);
  }, 120_000);
});
