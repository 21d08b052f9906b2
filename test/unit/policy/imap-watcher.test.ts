import { IMAP_MAX_EVENTS_PER_RUN, IMAP_SESSIONS_PER_RUN, imapWatcherShouldContinue } from '../../../workflows/policy/imap-watcher';

describe('inbox watcher continue-as-new (pure)', () => {
  const base = { sessionsThisRun: 0, sessionsPerRun: IMAP_SESSIONS_PER_RUN, historyLength: 10, continueAsNewSuggested: false };

  it('goes on until the run has had its sessions', () => {
    for (let n = 0; n < IMAP_SESSIONS_PER_RUN; n++) expect(imapWatcherShouldContinue({ ...base, sessionsThisRun: n })).toBe(false);
    expect(imapWatcherShouldContinue({ ...base, sessionsThisRun: IMAP_SESSIONS_PER_RUN })).toBe(true);
    expect(imapWatcherShouldContinue({ ...base, sessionsThisRun: 3, sessionsPerRun: 3 })).toBe(true);
  });

  it('continues early on a long history or when Temporal suggests it', () => {
    expect(imapWatcherShouldContinue({ ...base, sessionsThisRun: 1, historyLength: IMAP_MAX_EVENTS_PER_RUN - 1 })).toBe(false);
    expect(imapWatcherShouldContinue({ ...base, sessionsThisRun: 1, historyLength: IMAP_MAX_EVENTS_PER_RUN })).toBe(true);
    expect(imapWatcherShouldContinue({ ...base, sessionsThisRun: 1, continueAsNewSuggested: true })).toBe(true);
  });
});
