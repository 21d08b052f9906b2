-- Campaign scheduling (API: startAt, limits.newLeadsPerDay; window/timezone exist since 001).
-- start_at: no send before this instant (null: as soon as started).
-- limits: {"newLeadsPerDay": n} (null or no key: no limit).
ALTER TABLE campaigns ADD COLUMN IF NOT EXISTS start_at timestamptz;
ALTER TABLE campaigns ADD COLUMN IF NOT EXISTS limits jsonb;

-- The new-leads-per-day quota counts a campaign's first-step sends by the
-- time their intent was recorded (db/repositories/campaign-quota.ts).
CREATE INDEX IF NOT EXISTS sends_campaign_first_step_idx ON sends (campaign_id, created_at) WHERE step = 0;
