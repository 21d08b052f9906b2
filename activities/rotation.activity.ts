import { logRotation, restsDue, rotateProviderOrder } from '../db/repositories/reputation';
import type { ActivityDeps } from './deps';
import { endRest, type ScheduledActivityDeps } from './reputation.activity';

type Deps = ActivityDeps & ScheduledActivityDeps;

/**
 * The daily rotation's steps (workflows/rotation.workflow.ts): move each
 * multi-provider mailbox's primary provider account one place on, and return
 * rested mailboxes whose rest is over. Each writes rotation_log rows.
 */
export function rotationActivities(deps: Deps) {
  return {
    async rotateProviders(runId: string): Promise<{ pools: number; mailboxes: number }> {
      const changed = await rotateProviderOrder(deps.pool);
      for (const c of changed) {
        await logRotation(deps.pool, runId, 'providers_rotated', 'pool', `${c.clientId ?? 'agency'}/${c.pool}`, { mailboxes: c.mailboxes });
      }
      const mailboxes = changed.reduce((n, c) => n + c.mailboxes, 0);
      deps.logger.info({ pools: changed.length, mailboxes }, 'provider order rotated');
      return { pools: changed.length, mailboxes };
    },

    async returnRestedMailboxes(runId: string): Promise<{ returned: number }> {
      let returned = 0;
      for (const r of await restsDue(deps.pool)) {
        if (await endRest(deps, r.mailboxId)) {
          returned++;
          await logRotation(deps.pool, runId, 'mailbox_returned', 'mailbox', r.mailboxId, { restReason: r.reason });
        }
      }
      deps.logger.info({ returned }, 'rested mailboxes returned');
      return { returned };
    },
  };
}
