// Package store keeps Ringside's call records, their append-only journal, the uplink outbox and the
// phones' registrations in one SQLite file under the state directory, through modernc.org/sqlite
// (pure Go, so the ARM builds need no cgo).
//
// Durability: WAL with synchronous=FULL, so a Commit that returned survives a crash or power loss.
// A record, its new journal rows and its outbox messages commit in one transaction. One goroutine
// writes; writes that queue up while a commit is in flight share the next transaction (group
// commit), which keeps the insert rate high without weakening the guarantee.
//
// Failed writes: a group commit that fails is retried write by write, so one bad write fails
// alone. Permanent tells a write that can never succeed (SQLite's CONSTRAINT, MISMATCH, TOOBIG or
// RANGE result code, read from the driver's error) from one worth retrying (FULL, IOERR, BUSY...);
// SetAside keeps the former whole in the dead_letter table, with its cause, for a person to read.
//
// Schema: numbered, forward-only migrations embedded from migrations/*.sql, applied at Open and
// tracked in PRAGMA user_version. A database from a newer program is refused (ErrNewerSchema).
//
// Registrations (migration 4) keeps the SIP registrar's bindings, one row per account, so that a
// restart logs no phone out; the registrar decides which are still live.
//
// Live calls have a row from their arrival on (outcome ”); a crash leaves such rows behind, and
// the appliance closes them at start as failed/interrupted, so every attempt keeps its record.
package store
