import { WorkflowNotFoundError } from '@temporalio/client';
import { notifyAlert, recordAlert } from '../core/alerts';
import type { NewAlert } from '../db/repositories/alerts';
import { takeOutOfRotation } from '../db/repositories/domains';
import { transitionBreaker } from '../db/repositories/provider-health';
import {
  closeRest,
  domainStats,
  mailboxAddress,
  mailboxesOfDomainNotResting,
  mailboxStats,
  openRest,
  providerStats,
} from '../db/repositories/reputation';
import { mailboxWorkflowId } from '../workflows/ids';
import { pauseUpdate, resumeUpdate } from '../workflows/mailbox.workflow';
import {
  DEFAULT_REPUTATION,
  type ReputationDecision,
  type ReputationSettings,
  type ReputationSnapshot,
} from '../workflows/policy/reputation';
import type { ActivityDeps } from './deps';
import { DEFAULT_BREAKER } from './providers/breaker-policy';
import { wakeCampaignsUsingMailbox } from './campaign-wake';

/** What the scheduled workflows' activities take beyond ActivityDeps (worker/main.ts fills it from config). */
export interface ScheduledActivityDeps {
  reputation?: ReputationSettings;
  /** DNS server for domain checks (DNS_SERVER); unset = the system's. */
  dnsServer?: string;
  /** The daily rotation's local hour, and the agency's zone (ROTATION_HOUR, ROTATION_TIMEZONE). */
  rotation?: { hour: number; agencyTimezone: string };
}

type Deps = ActivityDeps & ScheduledActivityDeps;

export const DOMAIN_OUT_REST_REASON = 'its sending domain is out of rotation';
/** What pausing and resting a mailbox needs (the API passes its own: a domain moving to another owner rests mailboxes at once). */
export type MailboxRestDeps = Pick<ActivityDeps, 'pool' | 'client'> & { logger: { warn(obj: object, msg: string): void } };

export interface ReputationInput {
  /** One page of mailboxes; domains and providers on the first page only. */
  snapshot: ReputationSnapshot;
  settings: ReputationSettings;
  /** The time the snapshot was taken (ms since the epoch). */
  takenAt: number;
  /** Where the next page of mailboxes starts; null on the last page. */
  nextMailboxId: string | null;
}

/** Mailboxes per snapshot page: keeps each activity's payload far under Temporal's limit at 10,000+ mailboxes. */
export const REPUTATION_PAGE = 500;

export interface ReputationApplied {
  providersSwitched: number;
  domainsOut: number;
  mailboxesRested: number;
  mailboxesResumed: number;
}

export async function raiseAlert(deps: Deps, alert: NewAlert): Promise<void> {
  const row = await recordAlert(deps.pool, deps.logger, alert);
  await notifyAlert(deps.alertWebhookUrl, deps.logger, row);
}

export type RestKind = 'rest' | 'dns' | 'domain';

/**
 * Adds (or takes away) one pause reason of a mailbox by asking its workflow,
 * the one writer of its status (it writes PostgreSQL itself). A mailbox with
 * no running workflow sends nothing anyway: logged, nothing else changes.
 */
export async function askMailbox(
  deps: MailboxRestDeps,
  mailboxId: string,
  change: { pause: true; kind: RestKind; reason: string; until: Date | null } | { pause: false; kind: RestKind },
): Promise<boolean> {
  const m = await mailboxAddress(deps.pool, mailboxId);
  if (!m) return false;
  const handle = deps.client.workflow.getHandle(mailboxWorkflowId(m.address));
  try {
    if (change.pause) await handle.executeUpdate(pauseUpdate, { args: [{ kind: change.kind, reason: change.reason, until: change.until?.getTime() ?? null }] });
    else await handle.executeUpdate(resumeUpdate, { args: [{ kind: change.kind }] });
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    deps.logger.warn({ mailboxId }, 'mailbox has no running workflow; its pause reasons are unchanged');
    return true;
  }
  if (!change.pause) await wakeCampaignsUsingMailbox(deps.pool, deps.client, mailboxId, deps.logger);
  return true;
}

/** Rests a mailbox for one kind of reason: an open mailbox_rests row of that kind, the reason added to its workflow. False when it already rests for that kind. */
export async function restMailbox(deps: MailboxRestDeps, mailboxId: string, kind: RestKind, reason: string, restUntil: Date | null): Promise<boolean> {
  const opened = await openRest(deps.pool, mailboxId, kind, reason, restUntil);
  if (!opened) return false;
  await askMailbox(deps, mailboxId, { pause: true, kind, reason, until: restUntil });
  return true;
}

/** Ends one kind of rest of a mailbox: that reason taken from its workflow (any other stays), the rest closed. */
export async function endRest(deps: MailboxRestDeps, mailboxId: string, kind: RestKind): Promise<boolean> {
  // The workflow first: a failure leaves the rest open, so the next run tries again.
  await askMailbox(deps, mailboxId, { pause: false, kind });
  return closeRest(deps.pool, mailboxId, kind);
}

export function reputationActivities(deps: Deps) {
  const settings = deps.reputation ?? DEFAULT_REPUTATION;
  const openForMs = deps.breaker?.openForMs ?? DEFAULT_BREAKER.openForMs;
  return {
    /** Delivery, bounce and complaint rates per mailbox and domain, failure rates per provider account. */
    async reputationSnapshot(input: { afterMailboxId: string | null } = { afterMailboxId: null }): Promise<ReputationInput> {
      const takenAt = deps.clock().getTime();
      const first = input.afterMailboxId === null;
      const [mailboxes, domains, providers] = await Promise.all([
        mailboxStats(deps.pool, settings.mailboxRule, { afterId: input.afterMailboxId, limit: REPUTATION_PAGE }),
        first ? domainStats(deps.pool, settings.windowMs) : [],
        first ? providerStats(deps.pool, settings.providerWindowMs) : [],
      ]);
      const nextMailboxId = mailboxes.length === REPUTATION_PAGE ? mailboxes[mailboxes.length - 1]!.mailboxId : null;
      return { snapshot: { mailboxes, domains, providers }, settings, takenAt, nextMailboxId };
    },

    /** Carries out the controller's decisions; each one is idempotent (a retry does not alert twice). */
    async applyReputationDecisions(decisions: ReputationDecision[]): Promise<ReputationApplied> {
      const out: ReputationApplied = { providersSwitched: 0, domainsOut: 0, mailboxesRested: 0, mailboxesResumed: 0 };
      for (const d of decisions) {
        switch (d.kind) {
          case 'open_provider': {
            const probeAt = new Date(deps.clock().getTime() + openForMs);
            if (await transitionBreaker(deps.pool, d.accountId, ['closed'], 'open', d.reason, probeAt)) {
              out.providersSwitched++;
              await raiseAlert(deps, { clientId: null, kind: 'provider_switched', subjectType: 'provider', subjectId: d.accountId, message: `provider account ${d.accountId} switched away from: ${d.reason}` });
            }
            break;
          }
          case 'domain_out': {
            if (await takeOutOfRotation(deps.pool, d.domainId, d.reason)) {
              out.domainsOut++;
              await raiseAlert(deps, { clientId: d.clientId, kind: 'domain_out_of_rotation', subjectType: 'domain', subjectId: d.domainId, message: `sending domain ${d.domainId} out of rotation: ${d.reason}` });
            }
            // Its mailboxes rest until the domain is back (also on a retry of this activity).
            for (const mailboxId of await mailboxesOfDomainNotResting(deps.pool, d.domainId, 'domain')) {
              if (await restMailbox(deps, mailboxId, 'domain', DOMAIN_OUT_REST_REASON, null)) out.mailboxesRested++;
            }
            break;
          }
          case 'rest_mailbox': {
            if (await restMailbox(deps, d.mailboxId, 'rest', d.reason, d.restUntil === null ? null : new Date(d.restUntil))) {
              out.mailboxesRested++;
              const until = d.restUntil === null ? 'until its domain is back' : `until ${new Date(d.restUntil).toISOString()}`;
              await raiseAlert(deps, { clientId: d.clientId, kind: 'mailbox_rested', subjectType: 'mailbox', subjectId: d.mailboxId, message: `mailbox ${d.mailboxId}: ${d.reason}; resting ${until}` });
            }
            break;
          }
          case 'resume_mailbox': {
            if (await endRest(deps, d.mailboxId, 'rest')) out.mailboxesResumed++;
            break;
          }
        }
      }
      deps.logger.info({ ...out, decisions: decisions.length }, 'reputation controller applied its decisions');
      return out;
    },
  };
}
