-- Version 4: phones' registrations (the SIP registrar's bindings), kept so that a restart does not
-- log every agent out until the phone next registers. One row per account, replaced on every
-- REGISTER. granted_ms is the wall clock when the binding was granted and expires_ms the interval
-- granted: on restore a binding lives until granted_ms + expires_ms, never longer than expires_ms.
CREATE TABLE registrations (
  username   TEXT PRIMARY KEY,
  contact    TEXT NOT NULL,                   -- the Contact URI
  source     TEXT NOT NULL,                   -- host:port the REGISTER came from
  transport  TEXT NOT NULL,
  granted_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL
) WITHOUT ROWID;
