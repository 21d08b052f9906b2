import { pruneEventPayloads, prunePreviews } from '../db/repositories/privacy';
import type { ActivityDeps } from './deps';

/** The retention run's step (workflows/retention.workflow.ts). */
export function retentionActivities(deps: ActivityDeps) {
  return {
    /** Prunes what is older than `before`: raw provider event payloads (emptied), rendered previews (deleted). */
    async pruneRetainedData(input: { before: string }): Promise<{ eventPayloads: number; previews: number }> {
      const before = new Date(input.before);
      const eventPayloads = await pruneEventPayloads(deps.pool, before);
      const previews = await prunePreviews(deps.pool, before);
      deps.logger.info({ before: input.before, eventPayloads, previews }, 'retention: pruned');
      return { eventPayloads, previews };
    },
  };
}
