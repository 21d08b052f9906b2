import { notifyAlert, recordAlert } from '../services/alerts';
import type { NewAlert } from '../db/repositories/alerts';
import { takeOutOfRotation } from '../db/repositories/domains';
import { transitionBreaker } from '../db/repositories/provider-health';
import { domainStats, mailboxesOfDomainNotResting, mailboxStats, providerStats } from '../db/repositories/reputation';
import { DOMAIN_OUT_REST_REASON, endRest, restMailbox } from '../services/mailbox-rests';
import {
  DEFAULT_REPUTATION,
  type ReputationDecision,
  type ReputationSettings,
  type ReputationSnapshot,
} from '../workflows/policy/reputation';
import type { ActivityDeps } from './deps';
import { DEFAULT_BREAKER } from './providers/breaker-policy';

/** What the scheduled workflows' activities take beyond ActivityDeps (worker/main.ts fills it from config). */
export interface ScheduledActivityDeps {
  reputation?: ReputationSettings;
  /** DNS server for domain checks (DNS_SERVER); unset = the system's. */
  dnsServer?: string;
  /** The daily rotation's local hour, and the agency's zone (ROTATION_HOUR, ROTATION_TIMEZONE). */
  rotation?: { hour: number; agencyTimezone: string };
}

type Deps = ActivityDeps & ScheduledActivityDeps;


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
