-- Cost per email (issue 14 point 2).

-- What a provider account charges (core/schemas/pricing.ts): {kind: per_message, usd},
-- {kind: per_thousand, usd} or {kind: monthly, usd, includedMessages, overagePerThousandUsd}.
-- NULL: not priced (its sends record no cost and are counted as unpriced).
ALTER TABLE provider_accounts ADD COLUMN IF NOT EXISTS pricing jsonb;

-- What one send cost at its provider account, in USD, written with the send's 'sent' record by the
-- account that actually sent it (after a failover, the second one). NULL: not accepted (yet), or unpriced.
ALTER TABLE sends ADD COLUMN IF NOT EXISTS cost_usd numeric;

-- Sends of a monthly-plan account per calendar month (UTC), counted as each is recorded, so the
-- marginal cost of a send (0 within the included messages, the overage after) is decided atomically
-- however many workers send through the account at once.
CREATE TABLE IF NOT EXISTS provider_month_usage (
  provider_account_id uuid NOT NULL REFERENCES provider_accounts(id) ON DELETE CASCADE,
  month               date NOT NULL,
  sends               integer NOT NULL DEFAULT 0,
  PRIMARY KEY (provider_account_id, month)
);

-- The client cost report reads a client's accepted sends over a period; the engine's monthly
-- infrastructure figure is spread over every client's sends of the month.
CREATE INDEX IF NOT EXISTS sends_client_sent_idx ON sends (client_id, sent_at) WHERE provider_message_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS sends_sent_idx ON sends (sent_at) WHERE provider_message_id IS NOT NULL;
