-- A lane's follow-ups (and those a failed mailbox gave back, mailbox_id NULL):
-- which are due now, and when the next falls due, so an idle lane sleeps on
-- one timer until then instead of polling.
CREATE INDEX IF NOT EXISTS leads_lane_active_idx ON leads (campaign_id, mailbox_id, next_due_at)
  WHERE status = 'active';
