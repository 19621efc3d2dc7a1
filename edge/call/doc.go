// Package call defines Ringside's call record, its seven outcomes, and the append-only journal of
// call events the record is derived from.
//
// A call's life (product.md): arrived -> answered -> connected -> ended, with holds in between.
// Telephony reports each step as an Event; Record.Apply folds events into the record, and Rebuild
// recreates a record from its journal alone, so the journal is the source of truth and the record is
// its summary. Wall-clock times (Event.At) are for display; every duration comes from Event.Mono, the
// monotonic time since arrival, so a clock that jumps changes no wait or talk time.
//
// Call ids are UUIDv7 (RFC 9562): time-ordered, so the store's primary key sorts by arrival.
package call
