-- Daily rotation per client time zone: one row per scope (a client id, or
-- 'agency' for mailboxes and domains no client owns) and local date rotated.
CREATE TABLE IF NOT EXISTS rotation_days (
  scope       text NOT NULL,
  local_date  date NOT NULL,
  run_id      text NOT NULL,
  rotated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope, local_date)
);

-- A domain's SES configuration sets (dedicated IP pools) to rotate through;
-- configuration_set is the one in use.
ALTER TABLE sending_domains ADD COLUMN IF NOT EXISTS configuration_sets text[] NOT NULL DEFAULT '{}';
