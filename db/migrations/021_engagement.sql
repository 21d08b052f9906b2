-- Opens and clicks (issue 12, opt-in per campaign) and the per-step statistics.

-- Tracking is off unless the campaign asks for it at creation.
ALTER TABLE campaigns ADD COLUMN IF NOT EXISTS track_opens boolean NOT NULL DEFAULT false;
ALTER TABLE campaigns ADD COLUMN IF NOT EXISTS track_clicks boolean NOT NULL DEFAULT false;

-- The host open pixels and click links are served on (a CNAME to the API); NULL: PUBLIC_BASE_URL.
ALTER TABLE clients ADD COLUMN IF NOT EXISTS tracking_domain text;

-- The links of the sent message that were pointed at the click route, by index (1-based here,
-- 0-based in the token): a click redirects only to one of these.
ALTER TABLE sends ADD COLUMN IF NOT EXISTS tracked_links text[];

-- One row per send, kind, link and prefetch verdict: the first request makes it, later ones
-- count hits. A person's open counts once however often the pixel loads; prefetches (Apple
-- Mail Privacy Protection, security scanners: core/tracking/prefetch.ts) are rows of their own.
CREATE TABLE IF NOT EXISTS engagements (
  send_id          uuid NOT NULL REFERENCES sends(id) ON DELETE CASCADE,
  client_id        uuid NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  campaign_id      uuid NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
  step             integer NOT NULL,
  kind             text NOT NULL CHECK (kind IN ('open', 'click')),
  link_index       integer NOT NULL DEFAULT -1,          -- -1 for opens
  prefetch         boolean NOT NULL,
  prefetch_reason  text,                                 -- of the first prefetch request
  hits             integer NOT NULL DEFAULT 1,
  first_at         timestamptz NOT NULL DEFAULT now(),
  last_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (send_id, kind, link_index, prefetch)
);
CREATE INDEX IF NOT EXISTS engagements_campaign_idx ON engagements (campaign_id, step, send_id);

-- Statistics read replies, auto-replies and soft bounces per send: a small partial index
-- (these are a few percent of events) instead of every event of every send.
CREATE INDEX IF NOT EXISTS events_stats_send_idx ON events (send_id, type)
  WHERE send_id IS NOT NULL AND type IN ('replied', 'auto_replied', 'soft_bounced');
-- The metrics gauges count replies per client.
CREATE INDEX IF NOT EXISTS events_reply_client_idx ON events (client_id, type) WHERE type IN ('replied', 'auto_replied');
