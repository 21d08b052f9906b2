/**
 * Shapes of data that several layers pass around (PostgreSQL rows, workflow
 * state, API answers): types only, so the lowest layer (db/) can name them
 * without importing the code that produces them.
 */

/** Why a campaign (or one of its mailbox lanes) is not sending right now. */
export type WaitReason =
  | 'pacing'
  | 'outside_window'
  | 'campaign_window'
  | 'daily_cap'
  | 'warmup_cap'
  | 'hourly_cap'
  | 'min_interval'
  | 'cooldown'
  | 'beyond_horizon'
  | 'campaign_has_slot'
  | 'follow_up_delay'
  | 'new_leads_per_day'
  | 'start_time'
  | 'paused'
  | 'mailboxes_stopped';

/** How a lane ended: no work left for it, its mailbox stopped (paused, resting) or failed, cancelled, or yielding to continue-as-new. */
export type LaneEnd = 'done' | 'stopped' | 'failed' | 'cancelled' | 'yield';

export interface LaneView {
  mailboxId: string;
  state: 'reserving' | 'sending' | 'waiting' | 'idle' | 'ended';
  /** epoch ms the lane sleeps until, when waiting or idle with a follow-up due. */
  until: number | null;
  reason: WaitReason | LaneEnd | null;
}

/** A provider account's circuit breaker. */
export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerRow {
  state: BreakerState;
  /** open: when the probe may go; half_open: when the probe's lease ends. */
  probeAt: number | null;
}
