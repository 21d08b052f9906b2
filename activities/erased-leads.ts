import type { Pool } from 'pg';
import { hashEmail } from '../core/privacy';
import { suppressedHashes } from '../db/repositories/privacy';

/**
 * Marks suppressed the leads whose address was erased (README "Privacy"):
 * suppression_hashes holds it only as a keyed hash, so the send step hashes
 * each lead's address and asks. Catches a lead written in clear after its
 * erasure (an import racing the erase). Without a key, nothing to ask.
 */
export async function markErasedLeads<L extends { clientId: string; email: string; suppressed: boolean }>(
  pool: Pool,
  key: Buffer | undefined,
  leads: L[],
): Promise<L[]> {
  if (!key || leads.length === 0) return leads;
  const byClient = new Map<string, L[]>();
  for (const l of leads) byClient.set(l.clientId, [...(byClient.get(l.clientId) ?? []), l]);
  for (const [clientId, group] of byClient) {
    const hashes = new Map(group.map((l) => [l, hashEmail(key, l.email)]));
    const erased = await suppressedHashes(pool, clientId, [...hashes.values()]);
    for (const l of group) if (erased.has(hashes.get(l)!)) l.suppressed = true;
  }
  return leads;
}
