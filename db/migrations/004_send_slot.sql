-- The slot the mailbox granted for this send (when it was allowed to go), for audits of pacing.
ALTER TABLE sends ADD COLUMN IF NOT EXISTS slot_at timestamptz;
