// Tiny workflows for infrastructure tests (dev server, time-skipping server).
import { sleep } from '@temporalio/workflow';

export interface SleepResult {
  startedAt: number;
  wokeAt: number;
}

/** Sleeps for `ms` of workflow time and reports workflow time before and after. */
export async function sleepyWorkflow(ms: number): Promise<SleepResult> {
  const startedAt = Date.now();
  await sleep(ms);
  return { startedAt, wokeAt: Date.now() };
}

export async function echoWorkflow(message: string): Promise<string> {
  return `echo: ${message}`;
}
