-- Issue 13, point 4: lists and edits.

-- Templates are versioned: templates keeps the latest version's content (and its number); every
-- version, the first included, is a template_versions row. A running campaign renders from the
-- versions it pinned at its start (campaigns.template_versions), never from a later edit.
ALTER TABLE templates ADD COLUMN IF NOT EXISTS version integer NOT NULL DEFAULT 1;
ALTER TABLE templates ADD COLUMN IF NOT EXISTS updated_at timestamptz;
-- A deleted template is kept (a finished campaign's steps still name it) but no longer listed or usable.
ALTER TABLE templates ADD COLUMN IF NOT EXISTS deleted_at timestamptz;

CREATE TABLE IF NOT EXISTS template_versions (
  id           uuid PRIMARY KEY,
  template_id  uuid NOT NULL REFERENCES templates(id) ON DELETE CASCADE,
  version      integer NOT NULL CHECK (version >= 1),
  name         text NOT NULL,
  subject      text NOT NULL,
  body_text    text NOT NULL,
  body_html    text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT template_versions_uq UNIQUE (template_id, version)
);
INSERT INTO template_versions (id, template_id, version, name, subject, body_text, body_html, created_at)
SELECT gen_random_uuid(), t.id, t.version, t.name, t.subject, t.body_text, t.body_html, t.created_at FROM templates t
ON CONFLICT (template_id, version) DO NOTHING;

-- {"<templateId>": {"id": "<template_versions.id>", "version": n}}, written when the campaign starts.
-- NULL: a draft, or a campaign started before this migration (it renders the latest version).
ALTER TABLE campaigns ADD COLUMN IF NOT EXISTS template_versions jsonb;

-- A client's campaigns by status (GET /v1/campaigns?status=).
CREATE INDEX IF NOT EXISTS campaigns_client_status_idx ON campaigns (client_id, status, id);

-- A mailbox's sends, newest first (GET /v1/mailboxes/:id/sends).
CREATE INDEX IF NOT EXISTS sends_mailbox_id_idx ON sends (mailbox_id, id);

-- Alerts are acknowledged (resolved_at) by someone: the operator or a client key.
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS resolved_by text;
CREATE INDEX IF NOT EXISTS alerts_client_idx ON alerts (client_id, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS alerts_created_idx ON alerts (created_at DESC, id DESC);

-- Provider switches, newest first, per provider.
CREATE INDEX IF NOT EXISTS provider_switches_at_idx ON provider_switches (at DESC, id DESC);
CREATE INDEX IF NOT EXISTS provider_switches_account_idx ON provider_switches (provider_account_id, at DESC, id DESC);

-- A domain's (or mailbox's) rotation history, newest first.
CREATE INDEX IF NOT EXISTS rotation_log_subject_idx ON rotation_log (subject_type, subject_id, at DESC);

-- Every suppression removed by hand: who, which, and whether a complaint was forced out.
CREATE TABLE IF NOT EXISTS suppression_removals (
  id          uuid PRIMARY KEY,
  client_id   uuid NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  email       text NOT NULL,
  reason      text NOT NULL,
  suppressed_at timestamptz NOT NULL,
  actor       text NOT NULL,          -- 'operator' or 'key:<api key id>'
  forced      boolean NOT NULL DEFAULT false,
  removed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS suppression_removals_client_idx ON suppression_removals (client_id, removed_at);
