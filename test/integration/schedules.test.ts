import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import { createLogger } from '../../core/logger';
import { REPUTATION_SCHEDULE_ID, RETENTION_SCHEDULE_ID, ROTATION_SCHEDULE_ID, ensureSchedules } from '../../worker/schedules';
import { startWorker } from '../../worker/main';
import { startStack, type Stack } from '../helpers/stack';
import { testEnv } from '../helpers/test-env';

/**
 * The schedules exist on the dev server once a worker has started, and
 * again after a restart (a second start updates them in place, no
 * duplicate, no failure). Schedule ids are per namespace: this file is the
 * only test that turns SCHEDULES_ENABLED on.
 */
describe('reputation and rotation schedules (dev server)', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      worker: true,
      env: { SCHEDULES_ENABLED: 'true', ROTATION_TIMEZONE: 'America/New_York', ROTATION_HOUR: '4', DATA_RETENTION_DAYS: '90' },
    });
  });
  afterAll(async () => {
    for (const id of [REPUTATION_SCHEDULE_ID, ROTATION_SCHEDULE_ID, RETENTION_SCHEDULE_ID]) {
      await stack?.temporal.schedule.getHandle(id).delete().catch(() => undefined);
    }
    await stack?.close();
  });

  const describeBoth = (client: Client) =>
    Promise.all([REPUTATION_SCHEDULE_ID, ROTATION_SCHEDULE_ID].map((id) => client.schedule.getHandle(id).describe()));

  it('exist after the worker starts, with their spec, workflow, task queue and overlap policy SKIP', async () => {
    const [rep, rot] = await describeBoth(stack.temporal);
    expect(rep.scheduleId).toBe('reputation-controller');
    expect(rep.spec.intervals).toEqual([expect.objectContaining({ every: 15 * 60_000 })]);
    expect(rep.action).toEqual(expect.objectContaining({ type: 'startWorkflow', workflowType: 'reputationWorkflow', taskQueue: stack.config.TEMPORAL_TASK_QUEUE }));
    expect(rep.policies.overlap).toBe('SKIP');
    expect(rep.state.paused).toBe(false);

    expect(rot.scheduleId).toBe('daily-rotation');
    // Hourly on the hour: each client rotates at ROTATION_HOUR in its own zone (workflows/policy/rotation.ts).
    expect(rot.spec.calendars).toEqual([expect.objectContaining({ hour: [{ start: 0, end: 23, step: 1 }], minute: [{ start: 0, end: 0, step: 1 }] })]);
    expect(rot.action).toEqual(expect.objectContaining({ staticSummary: expect.stringContaining("at 04:00 in each client's time zone") }));
    expect(rot.action).toEqual(expect.objectContaining({ workflowType: 'rotationWorkflow', taskQueue: stack.config.TEMPORAL_TASK_QUEUE }));
    expect(rot.policies.overlap).toBe('SKIP');
  });

  it('the data retention schedule runs daily with DATA_RETENTION_DAYS as its argument; a restart with a new value updates it', async () => {
    const ret = await stack.temporal.schedule.getHandle(RETENTION_SCHEDULE_ID).describe();
    expect(ret.spec.calendars).toEqual([expect.objectContaining({ hour: [{ start: 2, end: 2, step: 1 }], minute: [{ start: 30, end: 30, step: 1 }] })]);
    expect(ret.action).toEqual(expect.objectContaining({ type: 'startWorkflow', workflowType: 'retentionWorkflow', taskQueue: stack.config.TEMPORAL_TASK_QUEUE, args: [{ retentionDays: 90 }] }));
    expect(ret.policies.overlap).toBe('SKIP');
    await ensureSchedules(stack.temporal, { ...stack.config, DATA_RETENTION_DAYS: 30 });
    const again = await stack.temporal.schedule.getHandle(RETENTION_SCHEDULE_ID).describe();
    expect(again.action).toEqual(expect.objectContaining({ args: [{ retentionDays: 30 }] }));
    expect(again.info.createdAt).toEqual(ret.info.createdAt);
  });

  it('survive a restart: a second worker start updates them in place (new config), without failing', async () => {
    const before = await describeBoth(stack.temporal);
    await stack.worker!.shutdown();
    const config = { ...stack.config, ROTATION_HOUR: 5 };
    const again = await startWorker(config, { logger: createLogger('silent'), workflowBundlePath: testEnv('workflowBundle'), installRuntime: false });
    try {
      const [rep, rot] = await describeBoth(stack.temporal);
      expect(rep.action).toEqual(before[0].action);
      expect(rep.spec.intervals).toEqual(before[0].spec.intervals);
      expect(rot.action).toEqual(expect.objectContaining({ staticSummary: expect.stringContaining("at 05:00 in each client's time zone") }));
      expect(rot.spec.calendars).toEqual(before[1].spec.calendars);
      // Created once: the original creation time stays, only the update time moves.
      expect(rep.info.createdAt).toEqual(before[0].info.createdAt);
      expect(rot.info.createdAt).toEqual(before[1].info.createdAt);
      expect(rot.info.lastUpdatedAt).toBeDefined();
    } finally {
      await again.shutdown();
    }
  });

  it('ensures twice at once without failing or duplicating, and keeps an operator pause', async () => {
    await stack.temporal.schedule.getHandle(REPUTATION_SCHEDULE_ID).pause('operator: maintenance');
    await expect(Promise.all([ensureSchedules(stack.temporal, stack.config), ensureSchedules(stack.temporal, stack.config)])).resolves.toEqual([
      [REPUTATION_SCHEDULE_ID, ROTATION_SCHEDULE_ID, RETENTION_SCHEDULE_ID],
      [REPUTATION_SCHEDULE_ID, ROTATION_SCHEDULE_ID, RETENTION_SCHEDULE_ID],
    ]);
    const [rep] = await describeBoth(stack.temporal);
    expect(rep.state.paused).toBe(true);
    expect(rep.state.note).toBe('operator: maintenance');
  });

  it('is created anew when it was deleted', async () => {
    await stack.temporal.schedule.getHandle(ROTATION_SCHEDULE_ID).delete();
    await expect(stack.temporal.schedule.getHandle(ROTATION_SCHEDULE_ID).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
    await ensureSchedules(stack.temporal, stack.config);
    const [, rot] = await describeBoth(stack.temporal);
    expect(rot.action).toEqual(expect.objectContaining({ workflowType: 'rotationWorkflow' }));
  });
});
