-- What each mailbox lane of a running campaign is doing, written by the
-- lane's reservation activity (one upsert per reservation): GET
-- /v1/campaigns/:id reads nextSend from here instead of querying every group
-- workflow. Informational only: no send decision reads it.
CREATE TABLE IF NOT EXISTS campaign_lanes (
  campaign_id uuid NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
  mailbox_id uuid NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
  state text NOT NULL CHECK (state IN ('sending', 'waiting', 'idle', 'ended')),
  until timestamptz,
  reason text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (campaign_id, mailbox_id)
);
