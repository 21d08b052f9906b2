/**
 * The controller's mailbox rule from before the one reputation rule
 * (./mailbox-reputation.ts): a plain rate strictly above its threshold on at
 * least `mailboxMinSample` sends over the controller's 24-hour window. Kept
 * ONLY so controller runs recorded before the `one-reputation-rule` patch
 * replay as they ran (workflows/reputation.workflow.ts asks for it when
 * `patched()` says false at the start of a run, which happens only while
 * replaying such a run); no run that starts today judges with it.
 */
import {
  domainDecision,
  providerDecision,
  ratesOf,
  type DomainStats,
  type ProviderStats,
  type ReputationDecision,
  type ReputationSettings,
  type SendCounts,
} from './reputation';

/** The settings such a run's snapshot activity recorded. */
export interface LegacyReputationSettings extends Omit<ReputationSettings, 'mailboxRule'> {
  mailboxBounceMax: number;
  mailboxComplaintMax: number;
  mailboxMinSample: number;
}

export interface LegacyMailboxStats extends SendCounts {
  mailboxId: string;
  clientId: string | null;
  status: 'active' | 'paused' | 'disabled';
  rest: { reason: string; restUntil: number | null } | null;
}

export interface LegacyReputationSnapshot {
  mailboxes: LegacyMailboxStats[];
  domains: DomainStats[];
  providers: ProviderStats[];
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

function legacyMailboxDecision(m: LegacyMailboxStats, s: LegacyReputationSettings, now: number): ReputationDecision | null {
  if (m.rest) {
    if (m.rest.restUntil !== null && m.rest.restUntil <= now) {
      return { kind: 'resume_mailbox', mailboxId: m.mailboxId, clientId: m.clientId, reason: `rest (${m.rest.reason}) is over` };
    }
    return null;
  }
  if (m.status !== 'active' || m.sends < s.mailboxMinSample) return null;
  const r = ratesOf(m);
  const restUntil = now + s.mailboxRestMs;
  if (r.complaint > s.mailboxComplaintMax) {
    return {
      kind: 'rest_mailbox', mailboxId: m.mailboxId, clientId: m.clientId, restUntil,
      reason: `complaint rate ${pct(r.complaint)} over ${m.sends} sends (max ${pct(s.mailboxComplaintMax)})`,
    };
  }
  if (r.bounce > s.mailboxBounceMax) {
    return {
      kind: 'rest_mailbox', mailboxId: m.mailboxId, clientId: m.clientId, restUntil,
      reason: `bounce rate ${pct(r.bounce)} over ${m.sends} sends (max ${pct(s.mailboxBounceMax)})`,
    };
  }
  return null;
}

/** decideReputation as it was: providers, then domains, then mailboxes by the old threshold rule. */
export function decideReputationLegacy(snap: LegacyReputationSnapshot, s: LegacyReputationSettings, now: number): ReputationDecision[] {
  const out: ReputationDecision[] = [];
  for (const p of snap.providers) {
    const d = providerDecision(p, s);
    if (d) out.push(d);
  }
  for (const dom of snap.domains) {
    const d = domainDecision(dom, s);
    if (d) out.push(d);
  }
  for (const m of snap.mailboxes) {
    const d = legacyMailboxDecision(m, s, now);
    if (d) out.push(d);
  }
  return out;
}
