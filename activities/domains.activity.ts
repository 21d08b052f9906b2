import { checkDomainDns, createResolver } from '../core/dns-check';
import { domainsToCheck, storeDnsVerdict } from '../db/repositories/domains';
import { logRotation, mailboxesOfDomainNotResting } from '../db/repositories/reputation';
import type { ActivityDeps } from './deps';
import { raiseAlert, restMailbox, type ScheduledActivityDeps } from './reputation.activity';

type Deps = ActivityDeps & ScheduledActivityDeps;

export const DOMAIN_MOVED_REST_REASON = 'its sending domain was verified by another owner';
export const DNS_FAILED_REST_REASON = 'its sending domain failed its DNS check';

/**
 * SPF, DKIM and DMARC of every verified sending domain (core/dns-check.ts),
 * the verdicts stored. A failing domain's active mailboxes rest until it
 * passes (and is in rotation); the rotation's next step returns those that
 * may. Only the claim's owner's mailboxes at that domain are its to rest:
 * a pending claim (anyone may register any name) is not looked up at all.
 * A claim superseded by another owner's proof keeps its owner's mailboxes
 * there resting.
 */
export function domainActivities(deps: Deps) {
  return {
    async checkDomains(runId: string): Promise<{ checked: number; failing: number }> {
      const resolver = createResolver(deps.dnsServer);
      let failing = 0;
      let checked = 0;
      const domains = await domainsToCheck(deps.pool);
      for (const d of domains) {
        if (d.verification === 'superseded') {
          // The API rests them when the domain moves; this catches any it could not.
          for (const mailboxId of await mailboxesOfDomainNotResting(deps.pool, d.id, 'domain')) {
            await restMailbox(deps, mailboxId, 'domain', DOMAIN_MOVED_REST_REASON, null);
          }
          continue;
        }
        checked++;
        const verdict = await checkDomainDns(resolver, d.domain, d.dkimSelector);
        await storeDnsVerdict(deps.pool, d.id, verdict);
        await logRotation(deps.pool, runId, 'domain_checked', 'domain', d.id, {
          overall: verdict.overall, spf: verdict.spf.verdict, dkim: verdict.dkim.verdict, dmarc: verdict.dmarc.verdict,
        });
        if (verdict.overall === 'fail') {
          failing++;
          // Not used for sending: new campaigns skip its mailboxes (selectCampaignMailboxes), running ones lose them here.
          for (const mailboxId of await mailboxesOfDomainNotResting(deps.pool, d.id, 'dns')) {
            await restMailbox(deps, mailboxId, 'dns', DNS_FAILED_REST_REASON, null);
          }
          if (d.dnsStatus !== 'fail') {
            await raiseAlert(deps, {
              clientId: d.clientId, kind: 'domain_dns_failed', subjectType: 'domain', subjectId: d.id,
              message: `sending domain ${d.id} failed its DNS check (spf ${verdict.spf.verdict}, dkim ${verdict.dkim.verdict}, dmarc ${verdict.dmarc.verdict}); not used for sending`,
            });
          }
        }
      }
      deps.logger.info({ checked, failing }, 'sending domains checked');
      return { checked, failing };
    },
  };
}
