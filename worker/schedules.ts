import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';
import type { Config } from '../core/config';
import type { Logger } from '../core/logger';

export const REPUTATION_SCHEDULE_ID = 'reputation-controller';
export const ROTATION_SCHEDULE_ID = 'daily-rotation';
export const RETENTION_SCHEDULE_ID = 'data-retention';

type ScheduleDefinition = Omit<ScheduleOptions, 'scheduleId'> & { scheduleId: string };

/**
 * The schedules: the reputation controller every 15 minutes, the data
 * retention run daily at 02:30 UTC (DATA_RETENTION_DAYS travels as its
 * argument, so a worker start with a new value updates it), and the
 * daily rotation every hour on the hour, which rotates each client at
 * ROTATION_HOUR in the client's own time zone (the agency's own mailboxes
 * in ROTATION_TIMEZONE), once per local day. A run still going when the next
 * is due is skipped (overlap SKIP); a missed hour is made up by the next run
 * the same local day.
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
      spec: { calendars: [{ hour: '*', minute: 0 }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'rotationWorkflow',
        workflowId: `${ROTATION_SCHEDULE_ID}-run`,
        taskQueue: config.TEMPORAL_TASK_QUEUE,
        args: [],
        workflowExecutionTimeout: '50 minutes',
        staticSummary: `Daily rotation at ${String(config.ROTATION_HOUR).padStart(2, '0')}:00 in each client's time zone: domain DNS checks, provider order, SES configuration sets; rested mailboxes back`,
      },
      policies,
    },
    {
      scheduleId: RETENTION_SCHEDULE_ID,
      spec: { calendars: [{ hour: 2, minute: 30 }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'retentionWorkflow',
        workflowId: `${RETENTION_SCHEDULE_ID}-run`,
        taskQueue: config.TEMPORAL_TASK_QUEUE,
        args: [{ retentionDays: config.DATA_RETENTION_DAYS }],
        workflowExecutionTimeout: '2 hours',
        staticSummary: `Data retention: raw provider event payloads and rendered previews older than ${config.DATA_RETENTION_DAYS} days are emptied`,
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
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
