-- Tenants, keys and operator-managed resources.
CREATE TABLE IF NOT EXISTS clients (
  id               uuid PRIMARY KEY,
  name             text NOT NULL,
  timezone         text NOT NULL DEFAULT 'UTC',
  physical_address text,
  created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS api_keys (
  id          uuid PRIMARY KEY,
  client_id   uuid NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  key_hash    text NOT NULL UNIQUE,      -- sha256 of the key; the key itself is shown once
  key_prefix  text NOT NULL,             -- first characters, to tell keys apart
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);
CREATE INDEX IF NOT EXISTS api_keys_client_idx ON api_keys(client_id);

CREATE TABLE IF NOT EXISTS provider_accounts (
  id                 uuid PRIMARY KEY,
  name               text NOT NULL UNIQUE,
  kind               text NOT NULL CHECK (kind IN ('ses', 'sendgrid', 'mailgun', 'smtp')),
  config_encrypted   text NOT NULL,      -- AES-256-GCM sealed JSON: credentials and endpoint
  status             text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  created_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS sending_domains (
  id                  uuid PRIMARY KEY,
  domain              text NOT NULL UNIQUE,
  configuration_set   text,              -- SES configuration set / IP pool used for this domain
  status              text NOT NULL DEFAULT 'active',
  created_at          timestamptz NOT NULL DEFAULT now()
);

-- Sender mailboxes. client_id NULL = an agency mailbox imported by the operator, shared by clients.
CREATE TABLE IF NOT EXISTS mailboxes (
  id            uuid PRIMARY KEY,
  client_id     uuid REFERENCES clients(id) ON DELETE CASCADE,
  address       text NOT NULL,
  display_name  text,
  pool          text NOT NULL DEFAULT 'default',
  domain_id     uuid REFERENCES sending_domains(id),
  provider_ids  uuid[] NOT NULL,          -- ordered: primary first
  timezone      text NOT NULL DEFAULT 'UTC',
  send_window   jsonb NOT NULL,
  limits        jsonb NOT NULL,
  warmup        jsonb,
  status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'disabled')),
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS mailboxes_address_uq ON mailboxes (lower(address));
CREATE INDEX IF NOT EXISTS mailboxes_client_pool_idx ON mailboxes (client_id, pool, id);

CREATE TABLE IF NOT EXISTS templates (
  id          uuid PRIMARY KEY,
  client_id   uuid NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  name        text NOT NULL,
  subject     text NOT NULL,
  body_text   text NOT NULL,
  body_html   text,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS templates_client_idx ON templates (client_id, id);

CREATE TABLE IF NOT EXISTS campaigns (
  id                 uuid PRIMARY KEY,
  client_id          uuid NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  name               text NOT NULL,
  status             text NOT NULL DEFAULT 'draft'
                     CHECK (status IN ('draft', 'running', 'paused', 'completed', 'cancelled')),
  steps              jsonb NOT NULL,
  mailbox_selector   jsonb NOT NULL,
  send_window        jsonb,
  timezone           text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  started_at         timestamptz,
  finished_at        timestamptz
);
CREATE INDEX IF NOT EXISTS campaigns_client_idx ON campaigns (client_id, id);

CREATE TABLE IF NOT EXISTS leads (
  id           uuid PRIMARY KEY,
  client_id    uuid NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  campaign_id  uuid NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
  email        text NOT NULL,
  vars         jsonb NOT NULL DEFAULT '{}'::jsonb,
  status       text NOT NULL DEFAULT 'pending'
               CHECK (status IN ('pending', 'active', 'done', 'replied', 'unsubscribed', 'bounced', 'complained', 'suppressed', 'failed')),
  mailbox_id   uuid REFERENCES mailboxes(id),
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS leads_campaign_email_uq ON leads (campaign_id, lower(email));
CREATE INDEX IF NOT EXISTS leads_campaign_status_idx ON leads (campaign_id, status, id);

-- One row per (lead, step): the send intent is written here before any provider is called.
CREATE TABLE IF NOT EXISTS sends (
  id                    uuid PRIMARY KEY,
  client_id             uuid NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  campaign_id           uuid NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
  lead_id               uuid NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
  step                  integer NOT NULL CHECK (step >= 0),
  mailbox_id            uuid REFERENCES mailboxes(id),
  provider_account_id   uuid REFERENCES provider_accounts(id),
  provider_message_id   text,
  message_id_header     text,
  status                text NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'unknown', 'bounced', 'complained', 'delivered')),
  attempts              integer NOT NULL DEFAULT 0,
  last_error            text,
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now(),
  sent_at               timestamptz,
  CONSTRAINT sends_lead_step_uq UNIQUE (lead_id, step)
);
CREATE INDEX IF NOT EXISTS sends_campaign_status_idx ON sends (campaign_id, status, id);
CREATE INDEX IF NOT EXISTS sends_mailbox_sent_idx ON sends (mailbox_id, sent_at);

CREATE TABLE IF NOT EXISTS events (
  id              uuid PRIMARY KEY,
  client_id       uuid REFERENCES clients(id) ON DELETE CASCADE,
  send_id         uuid REFERENCES sends(id) ON DELETE SET NULL,
  provider_kind   text NOT NULL,
  type            text NOT NULL,
  dedupe_key      text NOT NULL UNIQUE,
  payload         jsonb NOT NULL,
  occurred_at     timestamptz NOT NULL,
  received_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS events_send_idx ON events (send_id);

CREATE TABLE IF NOT EXISTS suppressions (
  client_id   uuid NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  email       text NOT NULL,               -- stored lower-cased
  reason      text NOT NULL CHECK (reason IN ('unsubscribed', 'hard_bounce', 'complaint', 'manual')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (client_id, email)
);

CREATE TABLE IF NOT EXISTS provider_switches (
  id                    uuid PRIMARY KEY,
  provider_account_id   uuid NOT NULL REFERENCES provider_accounts(id) ON DELETE CASCADE,
  from_state            text NOT NULL,
  to_state              text NOT NULL,
  reason                text NOT NULL,
  at                    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS alerts (
  id           uuid PRIMARY KEY,
  client_id    uuid REFERENCES clients(id) ON DELETE CASCADE,
  kind         text NOT NULL,
  subject_type text NOT NULL,               -- mailbox, domain, provider
  subject_id   text NOT NULL,
  message      text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  resolved_at  timestamptz
);
