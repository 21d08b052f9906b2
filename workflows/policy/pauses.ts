/**
 * Why a mailbox may not send: a set of pause reasons, one per kind, each with
 * who or what put it there and until when. The mailbox sends only when the
 * set is empty; a resume takes one kind away and leaves the others.
 *
 * - `user`: its owner (a client, or the operator for an agency mailbox)
 *   paused it by hand.
 * - `misconfigured`: a provider refused the sender itself (bad credentials,
 *   unverified identity); its owner resumes it after fixing the account.
 * - `rest`: the reputation controller rests it (a bounce or complaint rate);
 *   the controller ends it, or the operator.
 * - `dns`: its sending domain fails its SPF/DKIM/DMARC check; it ends when
 *   the domain passes again, never by hand.
 * - `domain`: its sending domain is out of rotation or was proven by another
 *   owner; it ends when the domain is usable again, never by hand.
 *
 * Pure functions; instants are epoch milliseconds.
 */
import { pause as legacyPause } from './state';
import type { PauseEntry, PauseKind, PolicyState } from './types';

/** The reason a provider's refusal of the sender itself is recorded with. */
export const SENDER_MISCONFIGURED = 'sender_misconfigured';

export const PAUSE_KINDS: readonly PauseKind[] = ['user', 'misconfigured', 'rest', 'dns', 'domain'];

export type PauseActor = 'client' | 'operator' | 'system';

/** Which kinds each caller may take away: facts about a domain are the system's alone. */
export function mayResume(kind: PauseKind, actor: PauseActor): boolean {
  switch (kind) {
    case 'user':
    case 'misconfigured':
      return true;
    case 'rest':
      return actor !== 'client';
    case 'dns':
    case 'domain':
      return actor === 'system';
  }
}

function withPauses(state: PolicyState, pauses: PauseEntry[]): PolicyState {
  return {
    ...state,
    grants: [...state.grants],
    recentOutcomes: [...state.recentOutcomes],
    pauses,
    paused: pauses.length > 0,
    pauseReason: pauses[0]?.reason ?? null,
  };
}

/**
 * Adds a reason, or refreshes the one of the same kind (its reason and
 * until; it keeps its first since). A state from before pause reasons
 * (no `pauses`) is paused the old way.
 */
export function addPause(state: PolicyState, entry: PauseEntry): PolicyState {
  if (state.pauses === undefined) return legacyPause(state, entry.reason);
  const existing = state.pauses.find((p) => p.kind === entry.kind);
  const next = existing
    ? state.pauses.map((p) => (p.kind === entry.kind ? { ...entry, since: existing.since } : p))
    : [...state.pauses, entry];
  return withPauses(state, next);
}

/** Takes one kind away; the others stay, and so does every counter and cooldown. */
export function removePause(state: PolicyState, kind: PauseKind): PolicyState {
  const pauses = state.pauses ?? [];
  return withPauses(state, pauses.filter((p) => p.kind !== kind));
}

/** The kind a pause from before pause reasons had, read from its reason's text. */
export function legacyPauseKind(reason: string | null): PauseKind {
  if (reason === null) return 'user';
  if (reason === SENDER_MISCONFIGURED) return 'misconfigured';
  if (!reason.startsWith('rest: ')) return 'user';
  if (/\bDNS\b/.test(reason)) return 'dns';
  if (/sending domain/.test(reason)) return 'domain';
  return 'rest';
}

/**
 * A state carried from before pause reasons, given its set: a paused one
 * gets the one reason its text names (since `at`, as its start is unknown).
 * A state that has its set is returned as it is.
 */
export function adoptPauses(state: PolicyState, at: number): PolicyState {
  if (state.pauses !== undefined) return state;
  if (!state.paused) return withPauses(state, []);
  const reason = state.pauseReason ?? 'paused';
  return withPauses(state, [{ kind: legacyPauseKind(state.pauseReason), reason, since: at, until: null }]);
}
