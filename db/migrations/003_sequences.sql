-- Multi-step sequences: which step a lead is on, when it is due, from which mailbox.
ALTER TABLE leads ADD COLUMN IF NOT EXISTS next_step integer NOT NULL DEFAULT 0;
ALTER TABLE leads ADD COLUMN IF NOT EXISTS next_due_at timestamptz;
CREATE INDEX IF NOT EXISTS leads_due_idx ON leads (campaign_id, mailbox_id, next_due_at) WHERE status = 'active';
CREATE INDEX IF NOT EXISTS leads_unassigned_idx ON leads (campaign_id, id) WHERE status = 'pending' AND mailbox_id IS NULL;
CREATE INDEX IF NOT EXISTS leads_client_email_idx ON leads (client_id, lower(email));
