import { z } from 'zod';
import { timezone, trimmedEmail, nonBlank } from './common';
import { pool, sendingWindow } from './mailboxes';
import { checkStepShape, stepVariant, winnerRule } from './campaign-variants';

/** A step: one template (templateId), or 2–5 A/B variants with weights and an optional winner rule. */
export const campaignStep = z
  .strictObject({
    templateId: z.uuid().optional(),
    variants: z.array(stepVariant).min(2).max(5).optional(),
    winner: winnerRule.optional(),
    delayDays: z.number().min(0).max(365),
  })
  .superRefine(checkStepShape);

/** The zone a campaign's window and its new-leads day are read in when it names none. */
export const DEFAULT_CAMPAIGN_TIMEZONE = 'UTC';

export const campaignLimits = z.strictObject({
  /** At most this many leads get their first step per local day of the campaign (its timezone, UTC when none). */
  newLeadsPerDay: z.number().int().min(1).max(1_000_000).optional(),
});
export type CampaignLimits = z.infer<typeof campaignLimits>;

/**
 * Opens (a 1x1 pixel) and clicks (links through the tracking host) in HTML bodies; both off unless asked
 * for: tracking pixels and rewritten links cost cold email deliverability.
 */
export const campaignTracking = z.strictObject({
  opens: z.boolean().default(false),
  clicks: z.boolean().default(false),
});
export type CampaignTracking = z.infer<typeof campaignTracking>;

export const createCampaignBody = z.strictObject({
  name: nonBlank(200),
  steps: z.array(campaignStep).min(1).max(10),
  mailboxes: z
    .strictObject({ pool: pool.optional(), ids: z.array(z.uuid()).min(1).max(10_000).optional() })
    .refine((m) => m.pool !== undefined || m.ids !== undefined, { message: 'give a pool or mailbox ids' }),
  /** Days and hours in `timezone` (UTC when none); a send also has to fall in its mailbox's own window. */
  window: sendingWindow.optional(),
  timezone: timezone.optional(),
  /** No send before this instant; ISO 8601 with an offset or Z, not in the past (checked by the route). */
  startAt: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with an offset, e.g. 2026-03-09T09:00:00+01:00' }).optional(),
  limits: campaignLimits.optional(),
  tracking: campaignTracking.optional(),
  /** An auto-reply (out of office, vacation) stops the lead's remaining steps in this campaign too (default: it does not). */
  stopOnAutoReply: z.boolean().optional(),
});
export type CreateCampaignBody = z.infer<typeof createCampaignBody>;

const created = createCampaignBody.shape;
/**
 * An edit of a draft: any of the create fields (null clears window,
 * timezone, startAt or limits); the result is checked as a create is.
 */
export const patchCampaignBody = z
  .strictObject({
    name: created.name.optional(),
    steps: created.steps.optional(),
    mailboxes: created.mailboxes.optional(),
    window: created.window.unwrap().nullable().optional(),
    timezone: created.timezone.unwrap().nullable().optional(),
    startAt: created.startAt.unwrap().nullable().optional(),
    limits: created.limits.unwrap().nullable().optional(),
    tracking: created.tracking.optional(),
    stopOnAutoReply: created.stopOnAutoReply.optional(),
  })
  .refine((b) => Object.keys(b).length > 0, { message: 'give at least one field to change' })
  .meta({ minProperties: 1 });
export type PatchCampaignBody = z.infer<typeof patchCampaignBody>;


export const leadInput = z.strictObject({
  email: z.string(),
  vars: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/), z.union([z.string().max(2000), z.number(), z.boolean()])).optional(),
});
export const jsonLeadsBody = z.strictObject({ leads: z.array(leadInput).min(1).max(100_000) });
export const leadEmail = trimmedEmail;

/**
 * draft → running ⇄ paused → completed | cancelled. failed: the campaign's
 * workflow closed unexpectedly (terminated, failed, timed out, cancelled
 * outside the API, or gone); failureReason says how, and resume restarts it.
 * awaiting_approval: a staged start's sample is done; approve sends the rest, cancel ends it.
 */
export const CAMPAIGN_STATUSES = ['draft', 'running', 'paused', 'completed', 'cancelled', 'failed', 'awaiting_approval'] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];
export const campaignStatus = z.enum(CAMPAIGN_STATUSES);

/** How a campaign was started: every lead ('live'), a rehearsal without any provider call ('dry-run'), or a sample first ('staged'). */
export const RUN_MODES = ['live', 'dry-run', 'staged'] as const;
export const runMode = z.enum(RUN_MODES);
/** The default share of the leads a staged start sends to first. */
export const DEFAULT_STAGED_SAMPLE = 0.01;

/**
 * POST /v1/campaigns/:id/start (the body is optional: live). staged: `sample`
 * is the share of the leads sent first (at least one lead), default 0.01.
 */
export const startCampaignBody = z.discriminatedUnion('mode', [
  z.strictObject({ mode: z.literal('live') }),
  z.strictObject({ mode: z.literal('dry-run') }),
  z.strictObject({ mode: z.literal('staged'), sample: z.number().gt(0).max(1).default(DEFAULT_STAGED_SAMPLE) }),
]);
export type StartCampaignBody = z.infer<typeof startCampaignBody>;

/** A campaign as the API shows it. */
export const campaignView = z.object({
  id: z.string(),
  clientId: z.string(),
  name: z.string(),
  status: campaignStatus,
  /** Why the campaign failed (status 'failed'), e.g. "workflow terminated: <reason>"; null otherwise. */
  failureReason: z.string().nullable(),
  failedAt: z.string().nullable(),
  steps: z.array(z.object({
    templateId: z.string().optional(),
    variants: z.array(z.object({ templateId: z.string(), weight: z.number().int() })).optional(),
    winner: z.object({ metric: z.string(), after: z.number().int() }).optional(),
    delayDays: z.number(),
  })),
  mailboxes: z.object({ pool: z.string().optional(), ids: z.array(z.string()).optional() }),
  window: z.object({ days: z.array(z.string()), start: z.string(), end: z.string() }).nullable(),
  timezone: z.string().nullable(),
  /** Nothing is sent before this (ISO 8601); null: from the start call. */
  startAt: z.string().nullable(),
  limits: z.object({ newLeadsPerDay: z.number().int().optional() }).nullable(),
  tracking: z.object({ opens: z.boolean(), clicks: z.boolean() }),
  stopOnAutoReply: z.boolean(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  /** The template versions it sends, pinned at its start (templateId → version number); null for a draft. */
  templateVersions: z.record(z.string(), z.number().int()).nullable(),
  /** How it was started ('live' for a draft). */
  mode: runMode,
});

const count = z.number().int();
/** GET /v1/campaigns/:id: the row, the counts, and the open workflow's own progress (null when none answers). */
export const campaignDetail = campaignView.extend({
  counts: z.object({
    pending: count, scheduled: count, sent: count, failed: count, unknown: count, bounced: count,
    complained: count, unsubscribed: count, replied: count, suppressed: count,
    /** Sends a dry run recorded (nothing went to a provider). */
    dryRun: count,
    /** Leads a staged start holds until its approval. */
    held: count,
  }),
  /** A staged start: the sample's share and size, its stage, and what became of it. */
  staged: z
    .object({
      sample: z.number(),
      stage: z.enum(['sample', 'approved']),
      size: count, sent: count, bounced: count, complained: count, replied: count, failed: count,
    })
    .nullable(),
  progress: z
    .object({
      status: z.string(),
      sent: count,
      failed: count,
      inFlight: count,
      round: count.optional(),
      startsAt: z.string().nullable().optional(),
      groups: count.optional(),
      /** When the next send is due (null: nothing scheduled) and why the campaign waits until then. */
      nextSend: z.object({ at: z.string().nullable(), reason: z.string() }).nullable().optional(),
    })
    .nullable(),
});

/** What start, pause, resume and cancel answer. */
export const campaignStatusAnswer = z.object({ status: campaignStatus });

/** GET /v1/campaigns?status=&clientId= (with cursorQuery). */
export const listCampaignsFilter = {
  status: campaignStatus.optional(),
  /** Operator only: one client's campaigns (the operator sees every client's without it). */
  clientId: z.uuid().optional(),
};
