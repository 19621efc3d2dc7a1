package store

import (
	"context"
	"errors"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Permanent reports whether a failed write can never succeed as it is, so retrying it is pointless:
// the write breaks a constraint (a UNIQUE key already taken), does not fit the schema, or could not
// even be encoded. Everything else is transient: a full disk (SQLITE_FULL), an I/O error, a locked
// or busy database, a context that ended; those are worth retrying once the cause is gone.
//
// The classification reads SQLite's primary result code from the driver's error, never the message.
func Permanent(err error) bool {
	if err == nil || errors.Is(err, ErrClosed) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		// Not SQLite's: the write could not be encoded (json), which no retry changes.
		return errors.Is(err, errEncode)
	}
	switch se.Code() & 0xff { // extended codes carry the primary code in their low byte
	case sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_MISMATCH, sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_RANGE:
		return true
	}
	return false
}

// errEncode marks a write whose values could not be encoded for the database.
var errEncode = errors.New("cannot encode")
