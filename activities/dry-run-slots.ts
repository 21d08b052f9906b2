import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { dryRunPacingGrants } from '../db/repositories/staging';
import { getMailboxById } from '../db/repositories/mailboxes';
import { mailboxLiveState, policySettingsOf } from '../services/mailbox';
import { batchSlotId, type GrantedSlot, type ReserveAnswer, type ReserveRequest } from '../workflows/messages/mailbox';
import { earliestSlot, initialPolicyState, recordGrant, type MailboxPolicySettings, type PolicyState } from '../workflows/policy';

/** The most slots one simulated reservation takes (as the mailbox workflow's MAX_BATCH). */
const MAX_BATCH = 100;
/** Grants older than this no longer weigh on any cap (the daily cap is the widest). */
const LOOKBACK_MS = 2 * 24 * 60 * 60_000;

/**
 * The mailbox's policy state as a dry run sees it: what the mailbox sent for
 * real and what dry runs have recorded on it (their slots), as grants; its
 * real pause and cooldown from its workflow's live state (a query: it
 * consumes nothing). The minimum interval runs from the latest grant, without jitter.
 */
export function shadowState(settings: MailboxPolicySettings, grants: number[], live: { paused: boolean; cooldownUntil: number | null }): PolicyState {
  const sorted = [...grants].sort((a, b) => a - b);
  const last = sorted[sorted.length - 1];
  return {
    ...initialPolicyState(),
    grants: sorted,
    nextEarliestAt: last === undefined ? null : last + Math.max(0, settings.limits.minIntervalSeconds) * 1000,
    cooldownUntil: live.cooldownUntil,
    paused: live.paused,
    pauseReason: live.paused ? 'paused' : null,
  };
}

/**
 * The slots the mailbox would grant, by its own policy (workflows/policy:
 * earliestSlot, recordGrant, the same rules and settings its workflow uses),
 * over a shadow of its state: a dry run paces, keeps windows and caps as a
 * real run would, and never asks the mailbox workflow for a slot, so its real
 * caps are never consumed. Nothing is written: the grants a dry run uses are
 * the slots its sends record (sends.slot_at of its 'dry_run' rows).
 */
export function simulateGrant(
  settings: MailboxPolicySettings,
  state: PolicyState,
  req: Pick<ReserveRequest, 'requestId' | 'count' | 'withinMs' | 'horizonMs' | 'window'>,
  now: number,
  random: () => number = Math.random,
): ReserveAnswer {
  const extra = req.window;
  const slot = earliestSlot(settings, state, now, extra);
  if (slot.at === null) return { granted: false, retryAt: slot.retryAt ?? null, reason: slot.reason === 'ok' ? 'outside_window' : slot.reason };
  const reach = Math.max(0, req.horizonMs ?? Infinity);
  if (slot.at > now + reach) {
    return { granted: false, retryAt: slot.at - reach, reason: 'beyond_horizon', ...(slot.reason !== 'ok' ? { blockedBy: slot.reason } : {}) };
  }
  const first = slot.at;
  const count = Math.max(1, Math.min(req.count ?? 1, MAX_BATCH));
  const slots: GrantedSlot[] = [];
  let s = state;
  for (let at: number | null = first; at !== null && slots.length < count; ) {
    s = recordGrant(settings, s, at, random(), extra);
    slots.push({ requestId: batchSlotId(req.requestId, slots.length), at });
    const next = earliestSlot(settings, s, now, extra).at;
    at = next !== null && next <= first + (req.withinMs ?? 0) && next <= now + reach ? next : null;
  }
  return { granted: true, at: first, requestId: req.requestId, slots };
}

/** A dry run's reservation on one mailbox: its settings and state from PostgreSQL and a query, the answer by simulateGrant. */
export async function reserveDryRun(deps: { pool: Pool; client: Client }, mailboxId: string, address: string, req: ReserveRequest, now: number): Promise<ReserveAnswer> {
  const m = await getMailboxById(deps.pool, mailboxId);
  if (!m) return { granted: false, retryAt: null, reason: 'paused' };
  const live = await mailboxLiveState(deps.client, address);
  const grants = await dryRunPacingGrants(deps.pool, mailboxId, now - LOOKBACK_MS);
  const state = shadowState(policySettingsOf(m), grants, {
    paused: live?.status === 'paused',
    cooldownUntil: live?.cooldownUntil ? Date.parse(live.cooldownUntil) : null,
  });
  return simulateGrant(policySettingsOf(m), state, req, now);
}
