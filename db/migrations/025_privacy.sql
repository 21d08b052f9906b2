-- GDPR/CCPA erase and export (issue 14 point 4; README "Privacy: erase, export, retention").

-- An erased address is kept only as HMAC-SHA256(PRIVACY_HASH_KEY, lower(address)), hex: it stays
-- unmailable (imports and the send step consult it) without being held in clear. client_id NULL:
-- the operator erased it for every client, those to come included.
CREATE TABLE IF NOT EXISTS suppression_hashes (
  client_id   uuid REFERENCES clients(id) ON DELETE CASCADE,
  email_hash  text NOT NULL CHECK (email_hash ~ '^[0-9a-f]{64}$'),
  reason      text NOT NULL DEFAULT 'erased',
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS suppression_hashes_uq
  ON suppression_hashes (COALESCE(client_id, '00000000-0000-0000-0000-000000000000'::uuid), email_hash);
CREATE INDEX IF NOT EXISTS suppression_hashes_hash_idx ON suppression_hashes (email_hash);

-- Who asked for what, when, and how much it touched; the address only as its hash.
CREATE TABLE IF NOT EXISTS privacy_requests (
  id          uuid PRIMARY KEY,
  kind        text NOT NULL CHECK (kind IN ('erase', 'export')),
  client_id   uuid REFERENCES clients(id) ON DELETE SET NULL,   -- NULL: the operator, over every client
  actor       text NOT NULL,                                     -- 'operator' or 'key:<api key id>'
  email_hash  text NOT NULL,
  counts      jsonb NOT NULL,
  at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS privacy_requests_hash_idx ON privacy_requests (email_hash, at);

-- An erased lead keeps its row (the campaign's figures stay true) but none of the person's data.
ALTER TABLE leads ADD COLUMN IF NOT EXISTS erased_at timestamptz;

-- Retention (DATA_RETENTION_DAYS) prunes raw payloads by age; the index keeps the daily run cheap.
CREATE INDEX IF NOT EXISTS events_received_idx ON events (received_at);
