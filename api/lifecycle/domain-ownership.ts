import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { notifyAlert, recordAlert, type AlertLogger } from '../../core/alerts';
import { checkDomainControl, type RecordCheck, type TxtResolver } from '../../core/dns-check';
import { markClaimVerified, type DomainRecord, type VerifiedClaim } from '../../db/repositories/domains';
import { mailboxesOfDomainNotResting } from '../../db/repositories/reputation';
import { DOMAIN_MOVED_REST_REASON } from '../../activities/domains.activity';
import { restMailbox } from '../../activities/reputation.activity';

/**
 * Who owns a sending domain (README "Sending domains"). Anyone may claim a
 * name; a claim becomes the domain's one verified claim when its owner proves
 * control over DNS (a TXT record `outreach-verification=<token>` at
 * `_outreach.<domain>`), or when the operator overrides the proof. The latest
 * proof wins: when the domain was another owner's, that claim is superseded,
 * its owner's mailboxes at the domain rest at once (and stay resting until it
 * proves control again) and it gets a `domain_ownership_moved` alert.
 */
export interface DomainOwnershipDeps {
  pool: Pool;
  temporal: Client;
  log: AlertLogger & { info(obj: object, msg: string): void };
  alertWebhookUrl?: string;
}

/** 'operator', or 'client:<id>' (domain_audit.actor). */
export const actorOf = (clientId: string | null): string => (clientId === null ? 'operator' : `client:${clientId}`);

export type ProofResult = { verified: VerifiedClaim } | { refused: RecordCheck } | { alreadyVerified: true };

/** Looks the claim's record up; on a match, makes the claim the verified one. */
export async function proveDomainControl(deps: DomainOwnershipDeps, resolver: TxtResolver, claim: DomainRecord, actor: string): Promise<ProofResult> {
  if (claim.verification === 'verified') return { alreadyVerified: true };
  const check = await checkDomainControl(resolver, claim.domain, claim.verificationToken);
  if (check.verdict !== 'pass') {
    deps.log.info({ domainId: claim.id, clientId: claim.clientId, verdict: check.verdict }, 'sending domain not verified: no matching TXT record');
    return { refused: check };
  }
  const verified = await markClaimVerified(deps.pool, claim.id, { method: 'dns', actor });
  if (!verified) return { alreadyVerified: true }; // verified meanwhile by a concurrent call
  deps.log.info({ domainId: claim.id, clientId: claim.clientId }, 'sending domain verified over DNS');
  await afterMove(deps, verified);
  return { verified };
}

/** The operator's override: the claim becomes the verified one without a DNS proof. Null when it already is. */
export async function overrideDomainProof(deps: DomainOwnershipDeps, claim: DomainRecord, reason: string): Promise<VerifiedClaim | null> {
  const verified = await markClaimVerified(deps.pool, claim.id, { method: 'operator_override', actor: actorOf(null), detail: { reason } });
  if (!verified) return null;
  deps.log.warn({
    domainId: claim.id, clientId: claim.clientId, reason,
    previousClaimId: verified.previous?.id ?? null, previousClientId: verified.previous?.clientId ?? null,
  }, 'sending domain verified by operator override');
  await afterMove(deps, verified);
  return verified;
}

/** The former owner's mailboxes at the domain rest, and it hears about it. */
async function afterMove(deps: DomainOwnershipDeps, { claim, previous }: VerifiedClaim): Promise<void> {
  if (!previous) return;
  const rested: string[] = [];
  for (const mailboxId of await mailboxesOfDomainNotResting(deps.pool, previous.id, 'domain')) {
    try {
      if (await restMailbox({ pool: deps.pool, client: deps.temporal, logger: deps.log }, mailboxId, 'domain', DOMAIN_MOVED_REST_REASON, null)) rested.push(mailboxId);
    } catch (err) {
      // The move is committed; the hourly check rests what could not be rested now (activities/domains.activity.ts).
      deps.log.warn({ mailboxId, domainId: previous.id, err: (err as Error).message }, 'could not rest a mailbox of a domain that moved; the hourly check will');
    }
  }
  const alert = await recordAlert(deps.pool, deps.log, {
    clientId: previous.clientId, kind: 'domain_ownership_moved', subjectType: 'domain', subjectId: previous.id,
    message: `sending domain ${previous.id} was verified by another owner's claim (${claim.id}); ${rested.length} mailbox(es) there rest until this claim proves control again`,
  });
  await notifyAlert(deps.alertWebhookUrl, deps.log, alert);
}
