/** Creating the policy state and pausing / resuming it. All functions return new objects. */
import type { PolicyState } from './types';

export function initialPolicyState(): PolicyState {
  return {
    grants: [],
    nextEarliestAt: null,
    cooldownUntil: null,
    throttleStreak: 0,
    recentOutcomes: [],
    paused: false,
    pauseReason: null,
  };
}

/** A paused mailbox has no next slot until resumed. Pausing again replaces the reason. */
export function pause(state: PolicyState, reason: string): PolicyState {
  return { ...state, grants: [...state.grants], recentOutcomes: [...state.recentOutcomes], paused: true, pauseReason: reason };
}

/** Clears the pause only: cooldowns, grants and counters are kept. */
export function resume(state: PolicyState): PolicyState {
  return { ...state, grants: [...state.grants], recentOutcomes: [...state.recentOutcomes], paused: false, pauseReason: null };
}
