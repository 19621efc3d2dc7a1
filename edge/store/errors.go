package store

import "errors"

var (
	// ErrNotFound: no call with that id.
	ErrNotFound = errors.New("not found")
	// ErrClosed: the store was closed; nothing more is written.
	ErrClosed = errors.New("store closed")
	// ErrNewerSchema: the database was written by a newer Ringside; it is not touched.
	ErrNewerSchema = errors.New("database schema is newer than this program")
)
