-- Version 3: why a recording stopped early (disk full, disk too slow), shown with the call.
ALTER TABLE calls ADD COLUMN recording_reason TEXT NOT NULL DEFAULT '';
