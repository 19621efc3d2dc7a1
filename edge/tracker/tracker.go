// Package tracker turns what telephony reports about calls into durable call records.
//
// Every call event (from a SIP call or an analog line) is posted here. One goroutine owns the live
// calls: it folds each event into the call's record (call.Record.Apply), writes the record and the
// new journal row through the store in one transaction, adds the uplink summary to the same
// transaction when the call ends, and only then publishes the event on the live bus. On arrival it
// credits the call to its source (tracking number or pool) and decides first-time vs repeat from
// the store (product.md "First-time vs repeat").
//
// Posting never blocks telephony: events queue without bound in memory until written. A write
// that fails for a reason that may pass (disk full, I/O error, busy database) is logged and retried
// with backoff; nothing is dropped while the process lives, and from the first failure Saving
// reports it, so that the appliance stops taking new calls and raises the alarm until the write
// goes through. A write that can never succeed (store.Permanent) is set aside in the store's
// dead-letter table and the records after it keep flowing. A crash leaves every committed step
// behind, which Recover closes at the next start.
package tracker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringside/ringside/edge/call"
	"github.com/ringside/ringside/edge/config"
	"github.com/ringside/ringside/edge/live"
	"github.com/ringside/ringside/edge/store"
)

// Clock tells the time; tests give a fake one.
type Clock interface{ Now() time.Time }

// Uplink turns finished calls into the messages committed with them to the outbox, and is told
// when rows are waiting. Revision is 0 when the call ends, and the journal seq of each later change
// (tags, recording, quality), so every message id is unique.
type Uplink interface {
	Summaries(r call.Record, revision int) ([]store.OutboxEntry, error)
	Kick()
}

// ReasonInterrupted is the reason given to calls that a crash or power cut left unfinished.
const ReasonInterrupted = "interrupted: the appliance stopped during the call"

// Tracker keeps the records of live calls.
type Tracker struct {
	store  *store.Store
	cfg    *config.Config
	bus    *live.Bus
	clock  Clock
	log    *slog.Logger
	uplink Uplink // nil: no uplink

	mu     sync.Mutex
	queue  []request
	wake   chan struct{}
	closed bool

	live map[string]*liveCall // owned by the Run goroutine

	snapMu   sync.Mutex
	snapshot map[string]call.Record // copies of live records, for readers

	unsaved  atomic.Pointer[error] // set while a failed write is being retried
	setAside atomic.Int64          // writes in the store's dead-letter table
}

type liveCall struct {
	rec     call.Record
	nextSeq int
}

type request struct {
	ev    call.Event
	reply chan error // set for requests whose caller waits (tags)
}

// New returns a tracker; call Run to start it.
func New(st *store.Store, cfg *config.Config, bus *live.Bus, clock Clock, log *slog.Logger, up Uplink) *Tracker {
	return &Tracker{
		store: st, cfg: cfg, bus: bus, clock: clock, log: log, uplink: up,
		wake:     make(chan struct{}, 1),
		live:     map[string]*liveCall{},
		snapshot: map[string]call.Record{},
	}
}

// Post queues a call event. It never blocks. Seq is assigned by the tracker.
func (t *Tracker) Post(ev call.Event) {
	t.enqueue(request{ev: ev})
}

func (t *Tracker) enqueue(r request) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		if r.reply != nil {
			r.reply <- ErrStopped
		}
		t.log.Error("call event after the tracker stopped", "call", r.ev.CallID, "kind", r.ev.Kind)
		return
	}
	t.queue = append(t.queue, r)
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// ErrStopped is returned for work posted after Run returned.
var ErrStopped = errors.New("tracker stopped")

// ErrUnsaved is what Saving returns while call records cannot be made durable.
var ErrUnsaved = errors.New("call records cannot be saved")

// Saving returns nil while call records reach the disk, and an error wrapping ErrUnsaved (and the
// store's error) while a write has failed and is still being retried:
// a full disk, say. It clears by itself once the write goes through.
func (t *Tracker) Saving() error {
	if p := t.unsaved.Load(); p != nil {
		return fmt.Errorf("%w: %w", ErrUnsaved, *p)
	}
	return nil
}

// SetAside is how many writes wait in the store's dead-letter table: writes that could never
// succeed, kept whole for a person to look at. It counts those of earlier runs too.
func (t *Tracker) SetAside() int { return int(t.setAside.Load()) }

// Tag sets a finished or live call's tags (lead, converted, revenue, notes) and journals who did it.
func (t *Tracker) Tag(ctx context.Context, id string, tags call.Tags, by string) error {
	tags.By = by
	reply := make(chan error, 1)
	t.enqueue(request{ev: call.Event{CallID: id, Kind: call.KindTagged, At: t.clock.Now(), Tags: &tags}, reply: reply})
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Amend journals a change to a call after the fact (recording reference, quality figures, tags),
// live or finished, and waits until it is durable. A finished call gets a new uplink revision.
func (t *Tracker) Amend(ctx context.Context, ev call.Event) error {
	switch ev.Kind {
	case call.KindTagged, call.KindRecording, call.KindQuality:
	default:
		return fmt.Errorf("call %s: %s is not an amendment", ev.CallID, ev.Kind)
	}
	if ev.At.IsZero() {
		ev.At = t.clock.Now()
	}
	reply := make(chan error, 1)
	t.enqueue(request{ev: ev, reply: reply})
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// kindPing is an internal no-op request: it proves the tracker's loop is turning.
const kindPing call.Kind = "ping"

// kindSaved is an internal no-op request answered in its turn: once every event posted before it
// is on disk. Unlike a ping it is not answered while a write is being retried.
const kindSaved call.Kind = "saved"

// Saved returns once every event posted before it is saved, or ctx's error. The SIP side waits on
// it before it answers a call, so that a call the caller hears answered always has its record.
func (t *Tracker) Saved(ctx context.Context) error {
	reply := make(chan error, 1)
	t.enqueue(request{ev: call.Event{Kind: kindSaved}, reply: reply})
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Ping returns once the tracker's loop has handled a request: the watchdog's proof of life. While
// a failed write waits for its next try, pings are answered at once: the loop is alive, waiting
// for the disk, and what it holds in memory must not be lost to a watchdog restart.
func (t *Tracker) Ping(ctx context.Context) error {
	reply := make(chan error, 1)
	t.enqueue(request{ev: call.Event{Kind: kindPing}, reply: reply})
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Live returns copies of the records of the calls in progress, oldest first.
func (t *Tracker) Live() []call.Record {
	t.snapMu.Lock()
	defer t.snapMu.Unlock()
	out := make([]call.Record, 0, len(t.snapshot))
	for _, r := range t.snapshot {
		out = append(out, r)
	}
	sortByID(out)
	return out
}

// EachLive calls f with every call in progress, in no order, without copying or sorting them: for
// readers that only count, such as the status LEDs, which look on every burst of live events. f
// runs under the tracker's snapshot lock, so it must be quick, must not keep r, and must not call
// the tracker.
func (t *Tracker) EachLive(f func(r *call.Record)) {
	t.snapMu.Lock()
	defer t.snapMu.Unlock()
	for _, r := range t.snapshot {
		f(&r)
	}
}
