import { checkDomainDns, createResolver } from '../core/dns-check';
import { allDomains, storeDnsVerdict } from '../db/repositories/domains';
import { activeMailboxesOfDomain, logRotation } from '../db/repositories/reputation';
import type { ActivityDeps } from './deps';
import { raiseAlert, restMailbox, type ScheduledActivityDeps } from './reputation.activity';

type Deps = ActivityDeps & ScheduledActivityDeps;

/**
 * SPF, DKIM and DMARC of every sending domain (core/dns-check.ts), the
 * verdicts stored. A failing domain's active mailboxes rest until it passes
 * (and is in rotation); the rotation's next step returns those that may.
 */
export function domainActivities(deps: Deps) {
  return {
    async checkDomains(runId: string): Promise<{ checked: number; failing: number }> {
      const resolver = createResolver(deps.dnsServer);
      let failing = 0;
      const domains = await allDomains(deps.pool);
      for (const d of domains) {
        const verdict = await checkDomainDns(resolver, d.domain, d.dkimSelector);
        await storeDnsVerdict(deps.pool, d.id, verdict);
        await logRotation(deps.pool, runId, 'domain_checked', 'domain', d.id, {
          overall: verdict.overall, spf: verdict.spf.verdict, dkim: verdict.dkim.verdict, dmarc: verdict.dmarc.verdict,
        });
        if (verdict.overall === 'fail') {
          failing++;
          // Not used for sending: new campaigns skip its mailboxes (selectCampaignMailboxes), running ones lose them here.
          for (const mailboxId of await activeMailboxesOfDomain(deps.pool, d.id)) {
            await restMailbox(deps, mailboxId, 'its sending domain failed its DNS check', null);
          }
          if (d.dnsStatus !== 'fail') {
            await raiseAlert(deps, {
              clientId: d.clientId, kind: 'domain_dns_failed', subjectType: 'domain', subjectId: d.id,
              message: `sending domain ${d.id} failed its DNS check (spf ${verdict.spf.verdict}, dkim ${verdict.dkim.verdict}, dmarc ${verdict.dmarc.verdict}); not used for sending`,
            });
          }
        }
      }
      deps.logger.info({ checked: domains.length, failing }, 'sending domains checked');
      return { checked: domains.length, failing };
    },
  };
}
