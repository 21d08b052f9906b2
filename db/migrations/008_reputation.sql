-- Reputation controller, daily rotation and domain checks (README "Reputation and rotation").

-- Sending domains: an owner (NULL = the agency's), the DKIM selector checked, whether the
-- domain is in rotation (the controller takes it out under its delivery threshold), and the
-- last DNS verdict ('unchecked' until the first check; 'fail' keeps it from sending).
ALTER TABLE sending_domains ADD COLUMN IF NOT EXISTS client_id uuid REFERENCES clients(id) ON DELETE CASCADE;
ALTER TABLE sending_domains ADD COLUMN IF NOT EXISTS dkim_selector text;
ALTER TABLE sending_domains ADD COLUMN IF NOT EXISTS in_rotation boolean NOT NULL DEFAULT true;
ALTER TABLE sending_domains ADD COLUMN IF NOT EXISTS rotation_reason text;
ALTER TABLE sending_domains ADD COLUMN IF NOT EXISTS dns_status text NOT NULL DEFAULT 'unchecked'
  CHECK (dns_status IN ('unchecked', 'pass', 'fail'));
ALTER TABLE sending_domains ADD COLUMN IF NOT EXISTS dns_verdict jsonb;
ALTER TABLE sending_domains ADD COLUMN IF NOT EXISTS dns_checked_at timestamptz;
CREATE INDEX IF NOT EXISTS sending_domains_client_idx ON sending_domains (client_id, id);

-- A mailbox rested (paused) by the reputation controller. rest_until NULL = until its domain is
-- back in rotation. returned_at is set when the rotation (or the controller) returns it.
CREATE TABLE IF NOT EXISTS mailbox_rests (
  id           uuid PRIMARY KEY,
  mailbox_id   uuid NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
  reason       text NOT NULL,
  rested_at    timestamptz NOT NULL DEFAULT now(),
  rest_until   timestamptz,
  returned_at  timestamptz
);
-- At most one open rest per mailbox.
CREATE UNIQUE INDEX IF NOT EXISTS mailbox_rests_open_uq ON mailbox_rests (mailbox_id) WHERE returned_at IS NULL;

-- What each daily rotation (and domain check) did.
CREATE TABLE IF NOT EXISTS rotation_log (
  id            uuid PRIMARY KEY,
  run_id        text NOT NULL,
  action        text NOT NULL,          -- providers_rotated, mailbox_returned, domain_checked
  subject_type  text NOT NULL,          -- mailbox, domain
  subject_id    text NOT NULL,
  detail        jsonb NOT NULL DEFAULT '{}'::jsonb,
  at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS rotation_log_run_idx ON rotation_log (run_id);

-- The controller's windows over sends.
CREATE INDEX IF NOT EXISTS sends_settled_at_idx ON sends ((coalesce(sent_at, updated_at)));
