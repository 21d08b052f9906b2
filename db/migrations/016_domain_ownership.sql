-- Domain ownership (issue 11, point 3; README "Sending domains").
--
-- A sending_domains row is now one owner's *claim* on a domain name: several clients (and the
-- agency, client_id NULL) may claim the same name, each with its own verification token; at most
-- one claim per name is verified at a time. A claim is verified when its owner publishes
-- `outreach-verification=<token>` as a TXT record at `_outreach.<domain>` and asks for the proof
-- (method 'dns'), or when the operator overrides the proof (method 'operator_override'). When
-- another claim proves control later, the earlier one is superseded: unverified, with a fresh token.

ALTER TABLE sending_domains ADD COLUMN IF NOT EXISTS verification_token text;
ALTER TABLE sending_domains ADD COLUMN IF NOT EXISTS verified_at timestamptz;
ALTER TABLE sending_domains ADD COLUMN IF NOT EXISTS verification_method text
  CHECK (verification_method IN ('dns', 'operator_override', 'migration'));
ALTER TABLE sending_domains ADD COLUMN IF NOT EXISTS superseded_at timestamptz;

-- Rows registered before this change (names were unique then, first come, no proof). Each gets a
-- token (shown in the API). A row is verified for its current owner (method 'migration', so
-- production keeps sending exactly as before) unless another owner has mailboxes at that domain:
-- then who registered it first proves nothing (it may be a squat), and the row stays pending
-- until its owner proves control or the operator overrides. A pending claim judges no mailbox,
-- so every mailbox keeps sending either way.
UPDATE sending_domains
   SET verification_token = replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '')
 WHERE verification_token IS NULL;
UPDATE sending_domains d
   SET verified_at = d.created_at, verification_method = 'migration'
 WHERE d.verified_at IS NULL AND d.superseded_at IS NULL
   AND NOT EXISTS (SELECT 1 FROM mailboxes m
                   WHERE lower(split_part(m.address, '@', 2)) = d.domain AND m.client_id IS DISTINCT FROM d.client_id);
ALTER TABLE sending_domains ALTER COLUMN verification_token SET NOT NULL;
ALTER TABLE sending_domains ADD CONSTRAINT sending_domains_verified_has_method
  CHECK ((verified_at IS NULL) = (verification_method IS NULL));

-- One claim per owner and name (NULL owner = the agency), instead of one per name.
ALTER TABLE sending_domains DROP CONSTRAINT IF EXISTS sending_domains_domain_key;
CREATE UNIQUE INDEX IF NOT EXISTS sending_domains_owner_domain_uq
  ON sending_domains (coalesce(client_id, '00000000-0000-0000-0000-000000000000'::uuid), domain);
-- At most one verified owner per name.
CREATE UNIQUE INDEX IF NOT EXISTS sending_domains_verified_uq ON sending_domains (domain) WHERE verified_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS sending_domains_domain_idx ON sending_domains (domain);

-- What happened to each claim: registered, verified (DNS proof), override (the operator's, with
-- its reason), superseded (another claim proved control). Never a token or a key.
CREATE TABLE IF NOT EXISTS domain_audit (
  id         uuid PRIMARY KEY,
  domain_id  uuid NOT NULL REFERENCES sending_domains(id) ON DELETE CASCADE,
  domain     text NOT NULL,
  client_id  uuid,                                  -- the claim's owner (NULL = the agency)
  action     text NOT NULL CHECK (action IN ('registered', 'verified', 'override', 'superseded')),
  actor      text NOT NULL,                         -- 'operator' or 'client:<id>'
  detail     jsonb NOT NULL DEFAULT '{}'::jsonb,
  at         timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS domain_audit_domain_idx ON domain_audit (domain_id, at);
