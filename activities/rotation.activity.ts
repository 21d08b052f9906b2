import { restsDue, logRotation } from '../db/repositories/reputation';
import { rotateScope, rotationScopes, type ScopeRotation } from '../db/repositories/rotation';
import { rotationDueOn } from '../workflows/policy/rotation';
import type { ActivityDeps } from './deps';
import { endRest, type ScheduledActivityDeps } from './reputation.activity';

type Deps = ActivityDeps & ScheduledActivityDeps;

export interface DueScope {
  scope: string;
  clientId: string | null;
  localDate: string;
}

/**
 * The daily rotation's steps (workflows/rotation.workflow.ts). The schedule
 * fires hourly; each scope (a client, or the agency's own mailboxes and
 * domains) rotates once a day at ROTATION_HOUR in its own time zone.
 */
export function rotationActivities(deps: Deps) {
  const hour = deps.rotation?.hour ?? 3;
  const agencyTimezone = deps.rotation?.agencyTimezone ?? 'UTC';
  return {
    /** The scopes due now; forced: every scope not yet rotated today, whatever the hour. */
    async rotationScopesDue(input: { force?: boolean }): Promise<DueScope[]> {
      const now = Date.now();
      const due: DueScope[] = [];
      for (const s of await rotationScopes(deps.pool, agencyTimezone)) {
        const localDate = rotationDueOn(s.timezone, input.force ? 0 : hour, now, s.lastRotatedOn);
        if (localDate) due.push({ scope: s.scope, clientId: s.clientId, localDate });
      }
      return due;
    },

    /**
     * Provider order and SES configuration sets of each scope, once for its
     * local day, a transaction per scope. Returns the scopes rotated (a scope
     * another run rotated first, or whose rotation failed, is left out; it is
     * due again at the next hourly run). Fails only when every scope failed.
     */
    async rotateScopes(input: { runId: string; scopes: DueScope[] }): Promise<(DueScope & ScopeRotation)[]> {
      const rotated: (DueScope & ScopeRotation)[] = [];
      const failed: string[] = [];
      for (const scope of input.scopes) {
        try {
          const done = await rotateScope(deps.pool, input.runId, scope);
          if (done) rotated.push({ ...scope, ...done });
        } catch (err) {
          // One scope's failure (its transaction rolled back) must not hold up the others; the next hourly run retries it.
          failed.push(scope.scope);
          deps.logger.error({ scope: scope.scope, err: (err as Error).message }, 'rotation of a scope failed; retried next hour');
        }
      }
      deps.logger.info({ due: input.scopes.length, rotated: rotated.length, failed: failed.length }, 'rotation scopes rotated');
      if (failed.length > 0 && rotated.length === 0) throw new Error(`rotation failed for every due scope (${failed.length})`);
      return rotated;
    },

    async returnRestedMailboxes(runId: string): Promise<{ returned: number }> {
      let returned = 0;
      for (const r of await restsDue(deps.pool)) {
        if (await endRest(deps, r.mailboxId, r.kind)) {
          returned++;
          await logRotation(deps.pool, runId, 'mailbox_returned', 'mailbox', r.mailboxId, { restKind: r.kind, restReason: r.reason });
        }
      }
      deps.logger.info({ returned }, 'rested mailboxes returned');
      return { returned };
    },
  };
}

