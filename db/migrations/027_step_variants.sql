-- A/B variants of a campaign step (issue 14, point 3). A step lists 2 to 5
-- templates with weights (campaigns.steps, jsonb); each send records the
-- variant (template) it rendered, chosen by a stable hash of the lead and
-- step, or the winner once a step's winner rule has decided.

-- The variant's template; null for a step with a single template (and for sends made before this migration).
ALTER TABLE sends ADD COLUMN IF NOT EXISTS variant_template_id uuid;
-- The winner rule's count (sends and replies per variant of one step) reads only the step's variant sends.
CREATE INDEX IF NOT EXISTS sends_campaign_variant_idx ON sends (campaign_id, step, variant_template_id)
  WHERE variant_template_id IS NOT NULL;

-- A winner rule's decision: one per (campaign, step), final. The figures it was made on are kept with it.
CREATE TABLE IF NOT EXISTS campaign_variant_decisions (
  campaign_id   uuid NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
  client_id     uuid NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  step          integer NOT NULL CHECK (step >= 0),
  template_id   uuid NOT NULL,
  metric        text NOT NULL,
  after_sends   integer NOT NULL CHECK (after_sends >= 1),
  reason        text NOT NULL,
  -- [{templateId, sent, replied, rate}] per variant, in the step's order.
  tallies       jsonb NOT NULL,
  decided_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (campaign_id, step)
);
