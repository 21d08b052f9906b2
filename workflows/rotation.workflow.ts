import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  retry: { maximumAttempts: 3, initialInterval: '10 seconds' },
});

export interface RotationRunResult {
  runId: string;
  domains: { checked: number; failing: number };
  providers: { pools: number; mailboxes: number };
  returned: number;
}

/**
 * The daily rotation (the `daily-rotation` schedule): check every sending
 * domain's DNS (a failing domain is not used for sending), move each
 * multi-provider mailbox's primary provider one place on, and return rested
 * mailboxes whose rest is over. Every step writes rotation_log rows under
 * this run's id.
 */
export async function rotationWorkflow(): Promise<RotationRunResult> {
  const runId = workflowInfo().runId;
  const domains = await acts.checkDomains(runId);
  const providers = await acts.rotateProviders(runId);
  const { returned } = await acts.returnRestedMailboxes(runId);
  return { runId, domains, providers, returned };
}
