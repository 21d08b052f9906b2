-- Each mailbox's unsent assigned leads across all campaigns: a campaign's
-- start spreads its leads by this load (workflows/policy/spread.ts).
CREATE INDEX IF NOT EXISTS leads_mailbox_pending_idx ON leads (mailbox_id)
  WHERE status = 'pending' AND mailbox_id IS NOT NULL;
