-- Circuit breaker state per provider account, shared by every worker.
CREATE TABLE IF NOT EXISTS provider_health (
  provider_account_id  uuid PRIMARY KEY REFERENCES provider_accounts(id) ON DELETE CASCADE,
  state                text NOT NULL DEFAULT 'closed' CHECK (state IN ('closed', 'open', 'half_open')),
  opened_at            timestamptz,
  probe_at             timestamptz,          -- when an open breaker lets one probe through
  probe_owner          text,                 -- the attempt holding the half-open probe
  updated_at           timestamptz NOT NULL DEFAULT now()
);

-- One row per provider call outcome, for the sliding failure-rate window.
CREATE TABLE IF NOT EXISTS provider_attempts (
  id                   bigserial PRIMARY KEY,
  provider_account_id  uuid NOT NULL REFERENCES provider_accounts(id) ON DELETE CASCADE,
  ok                   boolean NOT NULL,
  error_class          text,
  at                   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS provider_attempts_window_idx ON provider_attempts (provider_account_id, at DESC);
