-- A lane's own unsent leads (claimed, not yet sent) found without scanning
-- the campaign's unassigned ones: claimWork runs once per batch per mailbox.
CREATE INDEX IF NOT EXISTS leads_lane_pending_idx ON leads (campaign_id, mailbox_id, id)
  WHERE status = 'pending' AND mailbox_id IS NOT NULL;
