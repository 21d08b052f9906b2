-- Columns no code writes (issue 13, "remove what nothing uses"):
-- mailboxes.domain_id: never set, never read; a mailbox's domain is its address's
--   (the import checks it against the client's verified sending_domains).
-- sending_domains.status: always its default 'active', read by nothing; what decides
--   whether a domain sends is in_rotation, dns_status, verified_at and superseded_at.
-- provider_accounts.status: always its default 'active' (no route or job disables an
--   account, and the provider registry never looked at it); GET /v1/providers showed it.
ALTER TABLE mailboxes DROP COLUMN IF EXISTS domain_id;
ALTER TABLE sending_domains DROP COLUMN IF EXISTS status;
ALTER TABLE provider_accounts DROP COLUMN IF EXISTS status;
