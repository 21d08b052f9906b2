-- Dry run and staged start (issue 14, point 1).

-- How a campaign was started: 'live' (every lead, as always), 'dry-run' (the
-- whole path without a provider call: each send recorded as 'dry_run' with
-- its rendered message) or 'staged' (a sample of the leads first, then a hold
-- in 'awaiting_approval'). stage: for 'staged', 'sample' until approved, then 'approved'.
ALTER TABLE campaigns ADD COLUMN IF NOT EXISTS run_mode text NOT NULL DEFAULT 'live';
ALTER TABLE campaigns ADD COLUMN IF NOT EXISTS sample_ratio double precision;
ALTER TABLE campaigns ADD COLUMN IF NOT EXISTS stage text;
DO $$ BEGIN
  ALTER TABLE campaigns ADD CONSTRAINT campaigns_run_mode_ck CHECK (run_mode IN ('live', 'dry-run', 'staged'));
EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN
  ALTER TABLE campaigns ADD CONSTRAINT campaigns_stage_ck CHECK (stage IS NULL OR stage IN ('sample', 'approved'));
EXCEPTION WHEN duplicate_object THEN NULL; END $$;
ALTER TABLE campaigns DROP CONSTRAINT IF EXISTS campaigns_status_check;
ALTER TABLE campaigns ADD CONSTRAINT campaigns_status_check
  CHECK (status IN ('draft', 'running', 'paused', 'completed', 'cancelled', 'failed', 'awaiting_approval'));

-- A staged start's sample (true for the leads it sends to first); 'held': a
-- lead waiting for the approval (not in the sample, or a sample lead's next step).
ALTER TABLE leads ADD COLUMN IF NOT EXISTS in_sample boolean NOT NULL DEFAULT false;
ALTER TABLE leads DROP CONSTRAINT IF EXISTS leads_status_check;
ALTER TABLE leads ADD CONSTRAINT leads_status_check
  CHECK (status IN ('pending', 'active', 'done', 'replied', 'unsubscribed', 'bounced', 'complained', 'suppressed', 'failed', 'held'));

ALTER TABLE sends DROP CONSTRAINT IF EXISTS sends_status_check;
ALTER TABLE sends ADD CONSTRAINT sends_status_check
  CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'unknown', 'bounced', 'complained', 'delivered', 'dry_run'));

-- The message a dry-run send would have sent, as rendered (subject, bodies, headers, threading).
CREATE TABLE IF NOT EXISTS send_previews (
  send_id     uuid PRIMARY KEY REFERENCES sends(id) ON DELETE CASCADE,
  client_id   uuid NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  campaign_id uuid NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
  message     jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS send_previews_created_at_idx ON send_previews (created_at);
