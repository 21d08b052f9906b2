import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { badRequest } from '../../core/errors';
import type { PatchMailboxBody } from '../../core/schemas/mailboxes';
import { withTransaction } from '../../db/pool';
import { lockMailbox, updateMailboxSettings, type MailboxRecord } from '../../db/repositories/mailboxes';
import { providerIdsByName } from '../../db/repositories/providers';
import { mailboxWorkflowId } from '../../workflows/ids';
import { updateSettingsUpdate, type MailboxLiveState } from '../../workflows/messages/mailbox';
import { validatePolicySettings } from '../../workflows/policy';
import { policySettingsOf } from './mailbox';

function localDate(tz: string, at: Date): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}

/** The mailbox with the PATCH applied: limits merged field by field, a new ramp keeping its start date unless it names one. */
export function patchedMailbox(m: MailboxRecord, body: PatchMailboxBody, providerIds: string[] | undefined, now: Date): MailboxRecord {
  const timezone = body.timezone ?? m.timezone;
  const warmup =
    body.warmup === undefined
      ? m.warmup
      : body.warmup === null
        ? null
        : { ...body.warmup, startedOn: body.warmup.startedOn ?? m.warmup?.startedOn ?? localDate(timezone, now) };
  return {
    ...m,
    displayName: body.displayName === undefined ? m.displayName : body.displayName,
    pool: body.pool ?? m.pool,
    providerIds: providerIds ?? m.providerIds,
    providers: body.providers ?? m.providers,
    timezone,
    window: body.window ?? m.window,
    limits: { ...m.limits, ...body.limits },
    warmup,
  };
}

/**
 * Changes a mailbox's settings without losing its counters: the stored row
 * and, by the workflow's `updateSettings` Update, the running mailbox, which
 * keeps today's and this hour's counts, its reservations and cooldowns (a cap
 * lowered below what was sent today stops it for the rest of the day). The
 * row is written in a transaction that commits only once the workflow took
 * the settings, so a refusal leaves both as they were. A mailbox with no
 * running workflow (it sends nothing) changes in PostgreSQL alone.
 */
export async function patchMailboxSettings(
  deps: { pool: Pool; temporal: Client },
  m: MailboxRecord,
  body: PatchMailboxBody,
  now = new Date(),
): Promise<{ record: MailboxRecord; live: MailboxLiveState | null }> {
  let providerIds: string[] | undefined;
  if (body.providers) {
    const ids = await providerIdsByName(deps.pool, body.providers);
    const unknown = body.providers.findIndex((p) => !ids.has(p));
    if (unknown >= 0) throw badRequest('unknown provider', [{ path: `providers.${unknown}`, message: `unknown provider "${body.providers[unknown]}"` }]);
    providerIds = body.providers.map((p) => ids.get(p)!);
  }
  const record = patchedMailbox(m, body, providerIds, now);
  const settings = policySettingsOf(record);
  const errors = validatePolicySettings(settings);
  if (errors.length > 0) {
    throw badRequest('invalid mailbox settings', errors.map((e) => {
      const i = e.indexOf(': ');
      return { path: e.slice(0, i), message: e.slice(i + 2) };
    }));
  }
  const policyChanged = JSON.stringify(policySettingsOf(m)) !== JSON.stringify(settings);
  const live = await withTransaction(deps.pool, async (tx) => {
    await lockMailbox(tx, m.id);
    await updateMailboxSettings(tx, m.id, record);
    if (!policyChanged) return null;
    try {
      return await deps.temporal.workflow.getHandle(mailboxWorkflowId(m.address)).executeUpdate(updateSettingsUpdate, { args: [settings] });
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      // The workflow's validator refused them (the same checks as above, so only a rule this API does not know yet).
      if (err instanceof WorkflowUpdateFailedError) throw badRequest('the mailbox refused these settings', [{ path: 'body', message: err.cause?.message ?? err.message }]);
      throw err;
    }
  });
  return { record, live };
}
