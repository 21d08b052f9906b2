/**
 * How long a worker may take over one workflow task of a long-lived workflow
 * (a mailbox, a campaign group). A worker that lost a run from its cache (a
 * restart, a sticky-queue timeout on a loaded machine) replays the whole run
 * in that task; Temporal's default of 10 s left too little room for it: a
 * 5,000-event group run took 7 s to replay on a quiet 2-core machine, so on a
 * loaded one every retry timed out and replayed again (a group stuck for
 * 20 minutes in CI). Runs are kept short too (GROUP_MAX_EVENTS,
 * DEFAULT_MAX_HISTORY_PER_RUN); this is the headroom on top.
 */
export const LONG_RUN_TASK_TIMEOUT = '30 seconds';
