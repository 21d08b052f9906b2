// A workflow that fails with the real send activity's failure (test/security/failure-history.test.ts).
import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../../../activities';
import type { SendStepInput } from '../../../activities/send-step.activity';

const { sendStep } = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 1 },
});

/**
 * Sends one lead's step; when the send activity fails, the workflow fails
 * too, quoting the provider's error in its message and in the failure's
 * details, with the activity failure as its cause (the shapes a workflow
 * failure takes in history).
 */
export async function sendOrFailWorkflow(input: SendStepInput): Promise<string> {
  try {
    const result = await sendStep(input);
    return result.status;
  } catch (err) {
    const cause = err instanceof ActivityFailure ? err.cause : undefined;
    const providerError = cause?.message ?? String(err);
    throw ApplicationFailure.create({
      message: `send failed: ${providerError}`,
      type: 'SendFailed',
      nonRetryable: true,
      details: [{ providerError }],
      cause: err as Error,
    });
  }
}
