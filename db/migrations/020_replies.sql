-- Replies from the mailboxes themselves (IMAP) and from providers' inbound mail (README "Feedback loop").

-- A mailbox's IMAP settings: the password sealed like provider credentials (core/crypto.ts
-- SecretBox), never returned. The watcher's cursor (uid_validity, last_uid) and status live here.
CREATE TABLE IF NOT EXISTS mailbox_imap (
  mailbox_id          uuid PRIMARY KEY REFERENCES mailboxes(id) ON DELETE CASCADE,
  host                text NOT NULL,
  port                integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
  tls                 boolean NOT NULL DEFAULT true,
  username            text NOT NULL,
  password_encrypted  text NOT NULL,
  -- active: watched; auth_failed: the server refused the credentials, the watcher waits for new ones.
  status              text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'auth_failed')),
  last_error          text,
  uid_validity        bigint,
  last_uid            bigint,
  last_session_at     timestamptz,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now()
);

-- Inbound messages matched to a client's send: real replies and auto-replies (a DSN settles its
-- send through the feedback path instead). One row per message (dedupe_key), listed per campaign.
CREATE TABLE IF NOT EXISTS replies (
  id            uuid PRIMARY KEY,
  client_id     uuid NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  campaign_id   uuid NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
  lead_id       uuid NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
  send_id       uuid REFERENCES sends(id) ON DELETE SET NULL,
  step          integer,
  mailbox_id    uuid REFERENCES mailboxes(id) ON DELETE SET NULL,
  source        text NOT NULL CHECK (source IN ('imap', 'ses', 'mailgun', 'sendgrid')),
  kind          text NOT NULL CHECK (kind IN ('reply', 'auto_reply')),
  matched_by    text NOT NULL CHECK (matched_by IN ('message_id', 'sender')),
  from_address  text NOT NULL,
  subject       text,
  message_id    text,
  body_text     text,
  received_at   timestamptz NOT NULL,
  dedupe_key    text NOT NULL UNIQUE,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS replies_campaign_idx ON replies (campaign_id, id);

-- An auto-reply stops the lead's sequence in a campaign only when the campaign asks for it.
ALTER TABLE campaigns ADD COLUMN IF NOT EXISTS stop_on_auto_reply boolean NOT NULL DEFAULT false;

-- Inbound replies find their send by the Message-ID the recipient received.
CREATE INDEX IF NOT EXISTS sends_message_id_header_idx ON sends (message_id_header) WHERE message_id_header IS NOT NULL;
