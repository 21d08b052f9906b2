-- Feedback loop: provider webhooks, suppressions, alerts.

-- Mailgun webhook tokens already accepted: a replayed token is refused.
CREATE TABLE IF NOT EXISTS webhook_tokens (
  provider  text NOT NULL,
  token     text NOT NULL,
  seen_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (provider, token)
);
CREATE INDEX IF NOT EXISTS webhook_tokens_seen_idx ON webhook_tokens (seen_at);

-- Provider events find their send by the provider's message id (the correlation id is sends.id).
CREATE INDEX IF NOT EXISTS sends_provider_message_idx ON sends (provider_message_id) WHERE provider_message_id IS NOT NULL;

-- The last alert about a mailbox (a rate spike resets the sample the next verdict is taken on).
CREATE INDEX IF NOT EXISTS alerts_subject_idx ON alerts (subject_type, subject_id, created_at DESC);

-- Suppressions page in (created_at, email) order per client.
CREATE INDEX IF NOT EXISTS suppressions_client_page_idx ON suppressions (client_id, email);
