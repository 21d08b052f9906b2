-- The one mailbox reputation rule (workflows/policy/mailbox-reputation.ts) judges a mailbox on
-- its sends that went out since its sample started (db/repositories/reputation.ts mailboxSample).

-- One mailbox's sample: its sends by the instant they went out.
CREATE INDEX IF NOT EXISTS sends_mailbox_sample_idx ON sends (mailbox_id, (coalesce(sent_at, created_at)));

-- The controller finds the mailboxes that can breach through their bounced and complained sends only.
CREATE INDEX IF NOT EXISTS sends_feedback_at_idx ON sends ((coalesce(sent_at, created_at)))
  WHERE status IN ('bounced', 'complained');
