-- Keys can expire, be labelled, and say when they were last used (issue 11).
ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS expires_at timestamptz;
ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS label text;
-- Written at most once a minute per key by the auth hook.
ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS last_used_at timestamptz;
-- A key is looked up by its (non-secret) prefix, then its hash compared in constant time.
CREATE INDEX IF NOT EXISTS api_keys_prefix_idx ON api_keys (key_prefix);
