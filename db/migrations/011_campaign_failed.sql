-- A campaign whose workflow closed unexpectedly (terminated, failed, timed out,
-- cancelled outside the API, or gone) is 'failed', with why and since when
-- (services/campaign-health.ts). status_changed_at: when the status last
-- changed, so a workflow that closed before the row went running again (a
-- resume in progress) is not mistaken for this run's failure.
ALTER TABLE campaigns DROP CONSTRAINT IF EXISTS campaigns_status_check;
ALTER TABLE campaigns ADD CONSTRAINT campaigns_status_check
  CHECK (status IN ('draft', 'running', 'paused', 'completed', 'cancelled', 'failed'));
ALTER TABLE campaigns ADD COLUMN IF NOT EXISTS failure_reason text;
ALTER TABLE campaigns ADD COLUMN IF NOT EXISTS failed_at timestamptz;
ALTER TABLE campaigns ADD COLUMN IF NOT EXISTS status_changed_at timestamptz;

-- The reputation controller pages through the live campaigns.
CREATE INDEX IF NOT EXISTS campaigns_live_idx ON campaigns (id) WHERE status IN ('running', 'paused');
