-- Codec sign-in sessions (POST /codec/login): the browser's cookie holds a
-- random 256-bit token; only its SHA-256 is stored. A session ends when it
-- expires, at logout, or when the operator revokes every session
-- (DELETE /codec/sessions).
CREATE TABLE IF NOT EXISTS codec_sessions (
  id          uuid PRIMARY KEY,
  token_hash  text NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  revoked_at  timestamptz,
  CONSTRAINT codec_sessions_expire_after_creation CHECK (expires_at > created_at)
);
CREATE INDEX IF NOT EXISTS codec_sessions_expires_idx ON codec_sessions (expires_at);
