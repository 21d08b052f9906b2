-- One owner for a mailbox's availability (issue 13): the mailbox workflow
-- holds a set of pause reasons and is the only writer of the mailbox's
-- status; PostgreSQL mirrors the set for lists and campaigns.

-- The reasons as the workflow last wrote them: [{kind, reason, since, until}].
ALTER TABLE mailboxes ADD COLUMN IF NOT EXISTS pause_reasons jsonb NOT NULL DEFAULT '[]'::jsonb;

-- A rest is of one kind; a mailbox may rest for several at once (its domain
-- fails DNS while the controller rests it for bounces), each ended on its own.
ALTER TABLE mailbox_rests ADD COLUMN IF NOT EXISTS kind text;
UPDATE mailbox_rests SET kind = CASE
    WHEN reason ~ '\mDNS\M' THEN 'dns'
    WHEN reason LIKE '%sending domain%' AND rest_until IS NULL AND reason NOT LIKE '%rate%' THEN 'domain'
    ELSE 'rest' END
  WHERE kind IS NULL;
ALTER TABLE mailbox_rests ALTER COLUMN kind SET DEFAULT 'rest';
ALTER TABLE mailbox_rests ALTER COLUMN kind SET NOT NULL;
DO $$ BEGIN
  ALTER TABLE mailbox_rests ADD CONSTRAINT mailbox_rests_kind_ck CHECK (kind IN ('rest', 'dns', 'domain'));
EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DROP INDEX IF EXISTS mailbox_rests_open_uq;
CREATE UNIQUE INDEX IF NOT EXISTS mailbox_rests_open_kind_uq ON mailbox_rests (mailbox_id, kind) WHERE returned_at IS NULL;

-- Existing rows: each open rest is a reason; a paused mailbox with no open rest was paused by hand.
-- (Running workflows adopt the same reasons from their own state, workflows/policy/pauses.ts adoptPauses,
-- and write them back at their next change.)
UPDATE mailboxes m SET pause_reasons = coalesce((
    SELECT jsonb_agg(jsonb_build_object(
             'kind', r.kind, 'reason', r.reason,
             'since', to_char(r.rested_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
             'until', CASE WHEN r.rest_until IS NULL THEN NULL ELSE to_char(r.rest_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') END)
           ORDER BY r.rested_at)
    FROM mailbox_rests r WHERE r.mailbox_id = m.id AND r.returned_at IS NULL), '[]'::jsonb)
  WHERE m.pause_reasons = '[]'::jsonb;
UPDATE mailboxes SET pause_reasons = jsonb_build_array(jsonb_build_object('kind', 'user', 'reason', 'paused before pause reasons were kept', 'since', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'until', NULL))
  WHERE status = 'paused' AND pause_reasons = '[]'::jsonb;
UPDATE mailboxes SET status = 'paused' WHERE status = 'active' AND pause_reasons <> '[]'::jsonb;
