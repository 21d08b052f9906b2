import { CAMPAIGN_START_GRACE_MS, decideCampaignHealth, judgeCampaign, type CampaignWorkflowState } from '../../../workflows/policy/campaign-health';

const T = Date.UTC(2026, 0, 5, 12);
const row = (workflow: CampaignWorkflowState, statusChangedAt = T - 10 * 60_000) => ({ campaignId: 'c1', clientId: 'k1', statusChangedAt, workflow });

describe('campaign health (is a running/paused row lying?)', () => {
  it('open, completed or unobservable workflows leave the row alone', () => {
    expect(judgeCampaign(row({ kind: 'open' }), T)).toBeNull();
    expect(judgeCampaign(row({ kind: 'completed', closedAt: T - 1000 }), T)).toBeNull();
    expect(judgeCampaign(row({ kind: 'unknown', error: 'unavailable' }), T)).toBeNull();
  });

  it('a workflow that closed after the row changed fails it at once, naming how', () => {
    const changed = T - 5_000;
    expect(judgeCampaign(row({ kind: 'closed', how: 'terminated', closedAt: T - 1000, detail: 'by hand' }, changed), T)).toEqual({
      campaignId: 'c1', clientId: 'k1', reason: 'workflow terminated: by hand', seenChangedAt: changed,
    });
    expect(judgeCampaign(row({ kind: 'closed', how: 'timed_out', closedAt: T, detail: null }, changed), T)?.reason).toBe('workflow timed out');
    expect(judgeCampaign(row({ kind: 'closed', how: 'failed', closedAt: T, detail: 'boom' }, changed), T)?.reason).toBe('workflow failed: boom');
    expect(judgeCampaign(row({ kind: 'closed', how: 'cancelled', closedAt: T, detail: '' }, changed), T)?.reason).toBe('workflow cancelled');
    const long = judgeCampaign(row({ kind: 'closed', how: 'failed', closedAt: T, detail: 'x'.repeat(2000) }, changed), T)!.reason;
    expect(long.length).toBeLessThan(600);
  });

  it('a run that closed before the row last changed (a restart under way) and a missing workflow wait out the grace', () => {
    const changed = T - 1000;
    const earlier: CampaignWorkflowState = { kind: 'closed', how: 'terminated', closedAt: T - 60_000, detail: 'old run' };
    expect(judgeCampaign(row(earlier, changed), T)).toBeNull();
    expect(judgeCampaign(row({ kind: 'not_found' }, changed), T)).toBeNull();
    const later = changed + CAMPAIGN_START_GRACE_MS;
    expect(judgeCampaign(row(earlier, changed), later)?.reason).toBe('workflow terminated: old run');
    expect(judgeCampaign(row({ kind: 'not_found' }, changed), later)?.reason).toBe('workflow not found');
  });

  it('decides a page: only the failed ones', () => {
    const page = [row({ kind: 'open' }), { ...row({ kind: 'not_found' }), campaignId: 'c2' }];
    expect(decideCampaignHealth(page, T).map((d) => d.campaignId)).toEqual(['c2']);
  });
});
