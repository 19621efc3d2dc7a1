-- Version 4: writes that can never succeed (a UNIQUE key already taken, say) are set aside here
-- whole, with the reason, so that the records after them keep flowing. Nothing reads them back
-- automatically: they wait for a person (or a fixed program) to look at them.
CREATE TABLE dead_letter (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  call_id    TEXT NOT NULL,                   -- '' when the write carried no record
  set_ms     INTEGER NOT NULL,                -- when it was set aside
  cause      TEXT NOT NULL,                   -- the error the write failed with
  write      TEXT NOT NULL                    -- the whole write (record, events, outbox) as JSON
);
