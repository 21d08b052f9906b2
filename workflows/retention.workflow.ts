import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  retry: { maximumAttempts: 3, initialInterval: '30 seconds' },
});

export interface RetentionInput {
  /** DATA_RETENTION_DAYS, set on the schedule from the worker's config (updated at each worker start). */
  retentionDays: number;
}

export interface RetentionRunResult {
  /** Everything received before this instant was pruned. */
  before: string;
  eventPayloads: number;
  previews: number;
}

/**
 * The daily retention run (the `data-retention` schedule, README "Privacy"):
 * raw provider event payloads older than DATA_RETENTION_DAYS are emptied
 * (the rows, their types and times stay, so every figure stays true) and
 * rendered previews that old are deleted.
 */
export async function retentionWorkflow(input: RetentionInput): Promise<RetentionRunResult> {
  const before = new Date(Date.now() - input.retentionDays * 86_400_000).toISOString();
  const pruned = await acts.pruneRetainedData({ before });
  return { before, ...pruned };
}
