/**
 * Messages of the campaign workflow (campaign-<id>) and of its groups
 * (campaign-<id>-r<round>-g<k>): definitions and types only, so the API and
 * activities never load a workflow body.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { LaneEnd, LaneView, WaitReason } from '../../core/types';
import type { WindowConstraint } from '../policy';
import type { BatchOutcomes } from './mailbox';

export type { LaneEnd, LaneView, WaitReason };

export interface CampaignWorkflowInput {
  campaignId: string;
  clientId: string;
  /** Carried across continue-as-new. */
  sent?: number;
  failed?: number;
  paused?: boolean;
  /** Set on continue-as-new. */
  continued?: boolean;
  /** The next round to run (continue-as-new between rounds). */
  round?: number;
}

export type CampaignRunStatus = 'running' | 'paused' | 'cancelled' | 'completed' | 'stalled';


/** A reservation's reason to wait, in the campaign's words: the mailbox policy's block reason when it gave one. */
export function waitReasonOf(reason: string, blockedBy?: string): WaitReason {
  return (blockedBy ?? reason) as WaitReason;
}

export interface NextSend {
  /** ISO 8601; null when nothing is scheduled (paused, stalled). */
  at: string | null;
  reason: WaitReason;
}

export interface CampaignProgress {
  status: CampaignRunStatus;
  /** ISO 8601: the campaign waits for its startAt until then. */
  startsAt?: string | null;
  /** Sent and failed by finished groups of this campaign's workflow (the database counts are the record). */
  sent: number;
  failed: number;
  inFlight: number;
  round?: number;
  groups?: number;
}

export const pauseCampaignUpdate = defineUpdate<CampaignProgress, []>('pause');
export const resumeCampaignUpdate = defineUpdate<CampaignProgress, []>('resume');
export const cancelCampaignUpdate = defineUpdate<CampaignProgress, []>('cancel');
export const progressQuery = defineQuery<CampaignProgress>('progress');
/** New work may be there (leads uploaded, a mailbox resumed): idle lanes look again. */
export const wakeCampaignSignal = defineSignal<[]>('wake');

/** A sender mailbox as a lane sees it. providers: absent in plans recorded before activity summaries. */
export interface LaneMailbox {
  id: string;
  address: string;
  providers?: string[];
}

export interface CampaignGroupInput {
  campaignId: string;
  clientId: string;
  /** For activity summaries. */
  name: string;
  stepCount: number;
  /** This group's mailboxes, one lane each. */
  mailboxes: LaneMailbox[];
  /** Lanes of the whole campaign: a lane takes at most its fair share of the unassigned leads. */
  lanes: number;
  /** The campaign's own window (in its zone): every reservation carries it. */
  window?: WindowConstraint | null;
  paused: boolean;
  /** How the campaign runs when not live (summaries.ts modeLabel), for the Web UI's summaries; absent for a live run. */
  mode?: string;
  /** Carried across continue-as-new. */
  sent?: number;
  failed?: number;
  activity?: number;
  released?: number;
  /** Mailboxes whose lane stopped or failed in an earlier run of this group (not restarted). */
  ended?: Record<string, LaneEnd>;
  /**
   * Lanes that were asleep when the previous run continued as new: each sleeps
   * on until `until` in this run, then goes on as if it had slept there (its
   * timer was left to the old run, never cancelled).
   */
  parked?: Record<string, ParkedLane>;
  /** Outcomes of a lane's last batch its mailbox has not heard yet: they ride on the lane's next reservation. */
  reports?: Record<string, BatchOutcomes>;
}

export interface ParkedLane {
  until: number;
  /** A wake (new work) ends the sleep early. */
  wakeable: boolean;
  view: LaneView;
}


export interface CampaignGroupResult {
  sent: number;
  failed: number;
  /** Batches and sends this group ran (0: it found nothing to do). */
  activity: number;
  /** Leads its lanes gave back to the campaign (a mailbox stopped, failed or faced a long wait). */
  released?: number;
  ends: Record<string, LaneEnd>;
}


/** A group's own view: what its lanes sent and failed (across its runs), sends in flight, and each lane's state. */
export interface GroupProgress {
  sent: number;
  failed: number;
  inFlight: number;
  lanes: LaneView[];
}

export type GroupControl = 'pause' | 'resume' | 'cancel' | 'wake';
export const groupControlSignal = defineSignal<[GroupControl]>('control');
export const groupProgressQuery = defineQuery<GroupProgress>('groupProgress');
