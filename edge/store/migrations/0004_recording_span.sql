-- Version 4: where a recording starts in its call (milliseconds after arrival: the agent's connect,
-- unless recording.include_queue) and how long it is.
ALTER TABLE calls ADD COLUMN recording_offset_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN recording_ms INTEGER NOT NULL DEFAULT 0;
