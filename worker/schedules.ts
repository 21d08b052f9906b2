import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';
import type { Config } from '../core/config';
import type { Logger } from '../core/logger';

export const REPUTATION_SCHEDULE_ID = 'reputation-controller';
export const ROTATION_SCHEDULE_ID = 'daily-rotation';

type ScheduleDefinition = Omit<ScheduleOptions, 'scheduleId'> & { scheduleId: string };

/**
 * The two schedules, from config: the reputation controller every 15 minutes,
 * the daily rotation at ROTATION_HOUR:00 in ROTATION_TIMEZONE (one zone for
 * the whole deployment: the operator's). A run still going when the next is
 * due is skipped (overlap SKIP); a run missed while the server was down is
 * caught up within a short window only.
 */
export function scheduleDefinitions(config: Config): ScheduleDefinition[] {
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '10 minutes' };
  return [
    {
      scheduleId: REPUTATION_SCHEDULE_ID,
      spec: { intervals: [{ every: '15 minutes' }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'reputationWorkflow',
        workflowId: `${REPUTATION_SCHEDULE_ID}-run`,
        taskQueue: config.TEMPORAL_TASK_QUEUE,
        args: [],
        workflowExecutionTimeout: '14 minutes',
        staticSummary: 'Reputation controller: delivery, bounce, complaint and failure rates; rest, switch, alert',
      },
      policies,
    },
    {
      scheduleId: ROTATION_SCHEDULE_ID,
      spec: { calendars: [{ hour: config.ROTATION_HOUR, minute: 0 }], timezone: config.ROTATION_TIMEZONE },
      action: {
        type: 'startWorkflow',
        workflowType: 'rotationWorkflow',
        workflowId: `${ROTATION_SCHEDULE_ID}-run`,
        taskQueue: config.TEMPORAL_TASK_QUEUE,
        args: [],
        workflowExecutionTimeout: '6 hours',
        staticSummary: 'Daily rotation: domain DNS checks, provider order, rested mailboxes back',
      },
      policies,
    },
  ];
}

/**
 * Creates each schedule, or updates it in place when it exists (a restart, or
 * another worker got there first): never a duplicate, never a failure for
 * being second. A paused schedule stays paused (the operator's choice).
 */
export async function ensureSchedules(client: Client, config: Config, logger?: Pick<Logger, 'info'>): Promise<string[]> {
  const ids: string[] = [];
  for (const def of scheduleDefinitions(config)) {
    try {
      await client.schedule.create(def);
      logger?.info({ scheduleId: def.scheduleId }, 'schedule created');
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      await client.schedule.getHandle(def.scheduleId).update((previous) => ({
        ...previous,
        spec: def.spec,
        action: def.action,
        policies: { ...previous.policies, ...def.policies },
        state: { paused: previous.state.paused, note: previous.state.note, remainingActions: previous.state.remainingActions },
      }));
      logger?.info({ scheduleId: def.scheduleId }, 'schedule updated');
    }
    ids.push(def.scheduleId);
  }
  return ids;
}
