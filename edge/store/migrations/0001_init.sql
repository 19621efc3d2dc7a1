-- Version 1: call records, their journal, and the uplink outbox.
-- Times are Unix milliseconds (UTC); durations are milliseconds measured on the monotonic clock.

CREATE TABLE calls (
  id               TEXT PRIMARY KEY,          -- UUIDv7: sorts by arrival
  line             TEXT NOT NULL,
  tracking_number  TEXT NOT NULL,
  dialed_number    TEXT NOT NULL,
  caller_number    TEXT NOT NULL,             -- E.164, '' when withheld
  caller_name      TEXT NOT NULL,
  withheld         INTEGER NOT NULL,
  source           TEXT NOT NULL,
  campaign         TEXT NOT NULL,
  medium           TEXT NOT NULL,
  keyword          TEXT NOT NULL,
  gclid            TEXT NOT NULL,
  landing_page     TEXT NOT NULL,
  queue            TEXT NOT NULL,
  agent            TEXT NOT NULL,
  arrived_ms       INTEGER NOT NULL,
  answered_ms      INTEGER,
  connected_ms     INTEGER,
  ended_ms         INTEGER,
  wait_ms          INTEGER NOT NULL,
  talk_ms          INTEGER NOT NULL,
  hold_ms          INTEGER NOT NULL,
  hold_count       INTEGER NOT NULL,
  outcome          TEXT NOT NULL,             -- '' while the call is live
  reason           TEXT NOT NULL,
  first_time       INTEGER NOT NULL,
  recording        TEXT NOT NULL,
  recording_status TEXT NOT NULL,
  quality          TEXT NOT NULL,             -- JSON {caller, agent}
  lead             INTEGER,                   -- NULL: no staff decision, the lead rule applies
  converted        INTEGER NOT NULL,
  revenue_cents    INTEGER NOT NULL,
  notes            TEXT NOT NULL,
  tagged_by        TEXT NOT NULL,
  tagged_ms        INTEGER
) WITHOUT ROWID;

CREATE INDEX calls_arrived ON calls (arrived_ms);
CREATE INDEX calls_caller ON calls (caller_number, arrived_ms);
CREATE INDEX calls_live ON calls (outcome) WHERE outcome = '';

CREATE TABLE journal (
  call_id  TEXT NOT NULL,
  seq      INTEGER NOT NULL,
  kind     TEXT NOT NULL,
  at_ms    INTEGER NOT NULL,
  body     TEXT NOT NULL,                     -- the call.Event as JSON
  PRIMARY KEY (call_id, seq)
) WITHOUT ROWID;

-- The uplink's store-and-forward queue. seq is the per-device sequence number consumers use to
-- detect gaps: AUTOINCREMENT never reuses a number, even after rows are deleted.
CREATE TABLE outbox (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  id         TEXT NOT NULL UNIQUE,            -- message id consumers dedupe by
  topic      TEXT NOT NULL,
  payload    BLOB NOT NULL,
  created_ms INTEGER NOT NULL
);
