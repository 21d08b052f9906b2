import { checkDomainDns, createResolver } from '../core/dns-check';
import { allDomains, storeDnsVerdict } from '../db/repositories/domains';
import { logRotation } from '../db/repositories/reputation';
import type { ActivityDeps } from './deps';
import { raiseAlert, type ScheduledActivityDeps } from './reputation.activity';

type Deps = ActivityDeps & ScheduledActivityDeps;

/** SPF, DKIM and DMARC of every sending domain (core/dns-check.ts), the verdicts stored. */
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
