import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  retry: { maximumAttempts: 3, initialInterval: '10 seconds' },
});

export interface RotationInput {
  /** Rotate every scope not yet rotated today now, whatever its local hour (the operator's "rotate now"; tests). */
  force?: boolean;
}

export interface RotationRunResult {
  runId: string;
  /** The scopes rotated by this run (client ids, or "agency"), with their local date. */
  scopes: { scope: string; localDate: string }[];
  domains: { checked: number; failing: number };
  providers: { pools: number; mailboxes: number };
  configurationSets: number;
  returned: number;
}

/**
 * The daily rotation (the `daily-rotation` schedule, every hour). Each scope
 * (a client, in its time zone; the agency's own mailboxes and domains, in
 * ROTATION_TIMEZONE) whose ROTATION_HOUR has come and that has not rotated
 * today moves each multi-provider mailbox's primary provider one place on
 * and each in-rotation domain to its next SES configuration set. Every run
 * also checks every sending domain's DNS (a failing domain is not used for
 * sending) and returns rested mailboxes whose rest is over. Every step writes rotation_log rows
 * under this run's id.
 */
export async function rotationWorkflow(input: RotationInput = {}): Promise<RotationRunResult> {
  const runId = workflowInfo().runId;
  const due = await acts.rotationScopesDue({ force: input.force });
  const result: RotationRunResult = {
    runId,
    scopes: [],
    domains: { checked: 0, failing: 0 },
    providers: { pools: 0, mailboxes: 0 },
    configurationSets: 0,
    returned: 0,
  };
  // Every run (hourly): a domain whose records break stops sending within the hour, a fixed one comes back.
  result.domains = await acts.checkDomains(runId);
  // A scope another run rotated first (same local day) is not in the answer.
  for (const done of due.length > 0 ? await acts.rotateScopes({ runId, scopes: due }) : []) {
    result.scopes.push({ scope: done.scope, localDate: done.localDate });
    result.providers.pools += done.providers.pools;
    result.providers.mailboxes += done.providers.mailboxes;
    result.configurationSets += done.configurationSets;
  }
  result.returned = (await acts.returnRestedMailboxes(runId)).returned;
  return result;
}
