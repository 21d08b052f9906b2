/**
 * Types shared by the mailbox sending policy (pure functions, no Temporal imports).
 *
 * All instants are epoch milliseconds (UTC). All "local" values (window hours,
 * warm-up start date, calendar days) are read in the mailbox's IANA time zone.
 */

export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';

/** Weekdays in ISO order; index 0 is Monday. */
export const WEEKDAYS: readonly Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

export interface SendingWindow {
  /** Local weekdays on which sending is allowed. */
  days: Weekday[];
  /** 'HH:MM' local, inclusive. */
  start: string;
  /**
   * 'HH:MM' local, exclusive. Must be later than `start` (a window never runs
   * over midnight); '24:00' is accepted and means "until the end of the day".
   */
  end: string;
}

export interface MailboxLimits {
  dailyMax: number;
  hourlyMax: number;
  /** Hard floor between two grants; jitter only ever adds to it. */
  minIntervalSeconds: number;
  /** Extra random spacing as a fraction of minIntervalSeconds, e.g. 0.3. */
  jitterRatio: number;
}

/** A warm-up ramp without its start date (see DEFAULT_WARMUP_RAMP). */
export interface WarmupRamp {
  startPerDay: number;
  increasePerDay: number;
  maxPerDay: number;
}

export interface WarmupSettings extends WarmupRamp {
  /** 'YYYY-MM-DD', the local date (mailbox time zone) of warm-up day 0. */
  startedOn: string;
}

export interface CooldownSettings {
  /** First throttle cooldown; doubles with each consecutive throttle. */
  throttleBaseSeconds: number;
  /** Cap of the doubling throttle cooldown. */
  throttleMaxSeconds: number;
  /** Size of the ring of recent outcomes the rates are computed over. */
  bounceWindow: number;
  /** Bounce spike when bounced / ring length is strictly greater than this. */
  bounceThreshold: number;
  /** No bounce verdict before the ring holds this many outcomes. */
  bounceMinSample: number;
  bounceCooldownHours: number;
  /**
   * Complaint spike when complained / ring length is strictly greater than
   * this. No minimum sample: with the defaults (0.01 over at most 20
   * outcomes) a single complaint is a spike.
   */
  complaintThreshold: number;
  complaintCooldownHours: number;
}

export interface MailboxPolicySettings {
  /** IANA time zone, e.g. 'Europe/Berlin'. */
  timezone: string;
  window: SendingWindow;
  limits: MailboxLimits;
  /** null means fully warmed up: only limits.dailyMax applies. */
  warmup: WarmupSettings | null;
  /** Overrides of DEFAULT_COOLDOWN. */
  cooldown?: Partial<CooldownSettings>;
}

export type BlockReason =
  | 'paused'
  | 'cooldown'
  | 'outside_window'
  /** Outside the extra window a request brought (a campaign's), while inside the mailbox's own. */
  | 'campaign_window'
  | 'warmup_cap'
  | 'daily_cap'
  | 'hourly_cap'
  | 'min_interval';

/**
 * A window read in its own time zone, e.g. a campaign's: a slot search given
 * one grants only instants inside both it and the mailbox's own window.
 */
export interface WindowConstraint {
  window: SendingWindow;
  /** IANA time zone the window's days and hours are read in. */
  timezone: string;
}

export type RecentOutcome = 'ok' | 'bounced' | 'complained';

export interface PolicyState {
  /** Epoch ms of granted slots (past sends and future reservations), ascending. */
  grants: number[];
  /** Fixed at grant time: latest grant + jittered min interval. */
  nextEarliestAt: number | null;
  cooldownUntil: number | null;
  /** Consecutive throttles since the last successful send. */
  throttleStreak: number;
  /** The last `bounceWindow` outcomes, oldest first. */
  recentOutcomes: RecentOutcome[];
  /** True while `pauses` is not empty (or, in a state from before pause reasons, while paused by hand). */
  paused: boolean;
  /** The first pause's reason, for display. */
  pauseReason: string | null;
  /**
   * Every reason the mailbox may not send now, one per kind (./pauses.ts).
   * Absent in states recorded before pause reasons.
   */
  pauses?: PauseEntry[];
}

/** Why a mailbox may not send now (./pauses.ts). */
export type PauseKind = 'user' | 'misconfigured' | 'rest' | 'dns' | 'domain';

/** A pause reason as shown: instants in ISO 8601. */
export interface PauseView {
  kind: PauseKind;
  reason: string;
  since: string;
  until: string | null;
}


export interface PauseEntry {
  kind: PauseKind;
  /** Free text: who or what paused it and why. */
  reason: string;
  since: number;
  /** When it is expected to end (a timed rest); null: until whoever owns it ends it. */
  until: number | null;
}

export type Outcome = 'sent' | 'throttled' | 'bounced' | 'complained' | 'sender_misconfigured' | 'delivered';

export interface SlotDecision {
  /** Earliest allowed instant >= now; null when paused or no slot within the look-ahead. */
  at: number | null;
  /** 'ok' when at === now, else the first constraint that blocked at now. */
  reason: 'ok' | BlockReason;
  /**
   * Only with an extra window, when at is null because the two windows first
   * share an instant beyond the look-ahead (their zones' DST changes bring
   * them together later): that instant, to ask again at.
   */
  retryAt?: number;
}

export interface OutcomeResult {
  state: PolicyState;
  /** This outcome started or extended a cooldown. */
  cooled: boolean;
  /** This outcome paused the mailbox. */
  paused: boolean;
}
