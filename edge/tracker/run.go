package tracker

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ringside/ringside/edge/call"
	"github.com/ringside/ringside/edge/live"
	"github.com/ringside/ringside/edge/store"
)

// Retry bounds for a store that refuses a write for a reason that may pass (disk full, I/O error,
// database busy): the write is retried with backoff, never more than retryMax apart, for as long as
// the process lives, since dropping a call record is never the answer. From the first failure
// the tracker says records cannot be saved (Saving), so that the appliance stops taking new calls
// and raises the alarm until the write goes through: SQLite has already waited out a busy
// database (busy_timeout) before it fails a write, and every call answered meanwhile would be one
// more record held only in memory.
const (
	retryFirst = 50 * time.Millisecond
	retryMax   = 5 * time.Second
)

// Run writes posted events until ctx ends and every event posted before that is written. Teardown
// owns its own deadline: the caller cancels ctx only once telephony has posted its last event.
func (t *Tracker) Run(ctx context.Context) error {
	if n, err := t.store.DeadLetterCount(ctx); err != nil {
		t.log.Warn("could not count the writes set aside", "err", err)
	} else {
		t.setAside.Store(int64(n))
	}
	for {
		batch := t.take()
		for _, r := range batch {
			err := t.handle(ctx, r.ev)
			if r.reply != nil {
				r.reply <- err
			} else if err != nil {
				t.log.Error("call event refused", "call", r.ev.CallID, "kind", r.ev.Kind, "err", err)
			}
		}
		if len(batch) > 0 {
			continue
		}
		select {
		case <-t.wake:
		case <-ctx.Done():
			t.mu.Lock()
			empty := len(t.queue) == 0
			if empty {
				t.closed = true
			}
			t.mu.Unlock()
			if empty {
				return nil
			}
		}
	}
}

func (t *Tracker) take() []request {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.queue
	t.queue = nil
	return b
}

func (t *Tracker) handle(ctx context.Context, ev call.Event) error {
	if ev.Kind == kindPing || ev.Kind == kindSaved {
		return nil
	}
	if ev.Kind == call.KindTagged || t.live[ev.CallID] == nil && (ev.Kind == call.KindRecording || ev.Kind == call.KindQuality) {
		return t.amend(ctx, ev)
	}
	lc := t.live[ev.CallID]
	if ev.Kind == call.KindArrived {
		if lc != nil {
			return fmt.Errorf("call %s arrived twice", ev.CallID)
		}
		if ev.Arrival == nil {
			return fmt.Errorf("call %s: arrived without details", ev.CallID)
		}
		a := *ev.Arrival
		t.attribute(&a)
		first, err := t.firstTime(ctx, a.CallerNumber, ev.At)
		if err != nil {
			// A failed look-up must not lose the call: record it as a repeat (the cautious
			// choice for lead counting) and say so.
			t.log.Warn("first-time look-up failed; counting the call as a repeat", "call", ev.CallID, "err", err)
		}
		a.FirstTime = first
		ev.Arrival = &a
		lc = &liveCall{}
		t.live[ev.CallID] = lc
	}
	if lc == nil {
		return fmt.Errorf("call %s: %s for a call that is not live", ev.CallID, ev.Kind)
	}
	ev.Seq = lc.nextSeq
	next := lc.rec
	if err := next.Apply(ev); err != nil {
		return err
	}
	w := store.Write{Record: &next, Events: []call.Event{ev}}
	if next.Finished() {
		w.Outbox = t.summaries(next, 0)
	}
	if err := t.commit(ctx, w); err != nil {
		return err
	}
	t.kick(w)
	lc.rec, lc.nextSeq = next, lc.nextSeq+1
	t.snapMu.Lock()
	if next.Finished() {
		delete(t.live, ev.CallID)
		delete(t.snapshot, ev.CallID)
	} else {
		t.snapshot[ev.CallID] = next
	}
	t.snapMu.Unlock()
	t.publish(ev, next)
	return nil
}

// summaries asks the uplink for the messages that go with a finished call; a failure is logged and
// the call is recorded without them (the record matters more than its summary).
func (t *Tracker) summaries(r call.Record, revision int) []store.OutboxEntry {
	if t.uplink == nil {
		return nil
	}
	out, err := t.uplink.Summaries(r, revision)
	if err != nil {
		t.log.Error("uplink summary failed; the call is recorded without it", "call", r.ID, "err", err)
	}
	return out
}

func (t *Tracker) kick(w store.Write) {
	if t.uplink != nil && len(w.Outbox) > 0 {
		t.uplink.Kick()
	}
}

// commit makes w durable. A write that fails for a reason that may pass is retried with backoff
// until it succeeds or ctx ends, so that a full disk or a locked database delays a record instead
// of losing it; while it waits, pings are answered (the loop is alive, waiting for the disk). A
// write that can never succeed (store.Permanent: a UNIQUE key already taken, say) is set aside in
// the store's dead-letter table, so the records after it keep flowing; when it carried uplink
// messages, the record and its journal are then tried again without them (the record matters more
// than its summary).
func (t *Tracker) commit(ctx context.Context, w store.Write) error {
	delay := retryFirst
	var permanent error
	for attempt := 1; ; attempt++ {
		var err error
		if permanent == nil {
			err = t.store.Commit(context.WithoutCancel(ctx), w)
			if err != nil && store.Permanent(err) {
				permanent = err
				t.log.Error("a call record can never be saved as it is; setting it aside", "call", w.CallID(), "err", err)
			}
		}
		if permanent != nil {
			err = t.store.SetAside(context.WithoutCancel(ctx), w, permanent, t.clock.Now())
			if err == nil {
				t.setAside.Add(1)
				t.saved()
				if len(w.Outbox) > 0 {
					w.Outbox = nil
					return t.commit(ctx, w)
				}
				return nil
			}
		}
		if err == nil {
			t.saved()
			return nil
		}
		if attempt == 1 {
			t.unsaved.Store(&err)
			t.log.Error("call records cannot be saved; new calls are refused until they can", "err", err)
		} else if attempt%20 == 0 {
			t.log.Error("saving a call record failed; retrying", "attempt", attempt, "err", err)
		}
		if !t.waitRetry(ctx, delay) {
			// Shutting down: one last try, then give up and say so.
			if err := t.store.Commit(context.WithoutCancel(ctx), w); err != nil {
				return fmt.Errorf("save call record at shutdown: %w", err)
			}
			t.saved()
			return nil
		}
		delay = min(delay*2, retryMax)
	}
}

// waitRetry waits d before the next try, answering pings meanwhile; false when ctx ended first.
func (t *Tracker) waitRetry(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case <-timer.C:
			return true
		case <-t.wake:
			t.answerPings()
		case <-ctx.Done():
			return false
		}
	}
}

// answerPings answers the pings queued behind a write that is being retried, leaving the rest.
func (t *Tracker) answerPings() {
	t.mu.Lock()
	defer t.mu.Unlock()
	rest := t.queue[:0]
	for _, r := range t.queue {
		if r.ev.Kind == kindPing && r.reply != nil {
			r.reply <- nil
			continue
		}
		rest = append(rest, r)
	}
	clear(t.queue[len(rest):])
	t.queue = rest
}

// saved notes a write that reached the disk: records can be saved (again).
func (t *Tracker) saved() {
	if t.unsaved.Swap(nil) != nil {
		t.log.Info("call records are saved again; taking new calls")
	}
}

func (t *Tracker) publish(ev call.Event, rec call.Record) {
	if t.bus == nil {
		return
	}
	t.bus.Publish(live.Event{At: ev.At, Type: live.TypeCall, Call: &ev, Record: &rec})
}

// amend journals a change on a call after the fact (tags on a live or finished call; recording or
// quality figures on a finished one).
func (t *Tracker) amend(ctx context.Context, ev call.Event) error {
	if lc := t.live[ev.CallID]; lc != nil {
		ev.Seq = lc.nextSeq
		next := lc.rec
		if err := next.Apply(ev); err != nil {
			return err
		}
		if err := t.store.Commit(ctx, store.Write{Record: &next, Events: []call.Event{ev}}); err != nil {
			return err
		}
		lc.rec, lc.nextSeq = next, lc.nextSeq+1
		t.publish(ev, next)
		return nil
	}
	j, err := t.store.Journal(ctx, ev.CallID)
	if err != nil {
		return err
	}
	if len(j) == 0 {
		return fmt.Errorf("call %s: %w", ev.CallID, store.ErrNotFound)
	}
	rec, err := call.Rebuild(j)
	if err != nil {
		return fmt.Errorf("rebuild call %s: %w", ev.CallID, err)
	}
	ev.Seq = j[len(j)-1].Seq + 1
	if err := rec.Apply(ev); err != nil {
		return err
	}
	w := store.Write{Record: &rec, Events: []call.Event{ev}, Outbox: t.summaries(rec, ev.Seq)}
	if err := t.store.Commit(ctx, w); err != nil {
		return err
	}
	t.kick(w)
	t.publish(ev, rec)
	return nil
}

// attribute credits the call to the source of its tracking number (static numbers), or of its pool
// (dynamic numbers, until the website's visit for that number is known).
func (t *Tracker) attribute(a *call.Arrival) {
	if a.Attribution.Source != "" {
		return
	}
	for _, n := range t.cfg.TrackingNumbers {
		if n.Number != a.TrackingNumber {
			continue
		}
		a.Attribution = call.Attribution{Source: n.Source, Campaign: n.Campaign, Medium: n.Medium, Keyword: n.Keyword}
		return
	}
	a.Attribution.Source = "unknown"
}

func (t *Tracker) firstTime(ctx context.Context, caller string, at time.Time) (bool, error) {
	if caller == "" {
		return false, nil // withheld callers are their own group, never "first-time"
	}
	since := at.AddDate(0, 0, -t.cfg.Metrics.RepeatLookbackDays)
	seen, err := t.store.SeenBefore(ctx, caller, since, at)
	return !seen && err == nil, err
}

func sortByID(rs []call.Record) {
	slices.SortFunc(rs, func(a, b call.Record) int { return strings.Compare(a.ID, b.ID) })
}

// Recover closes the calls a crash or power cut left without an outcome: a call that had reached an
// agent ends connected, any other ends failed, both with ReasonInterrupted, at the last time the
// journal knows of. It runs before telephony starts.
func (t *Tracker) Recover(ctx context.Context) (int, error) {
	open, err := t.store.Unfinished(ctx)
	if err != nil {
		return 0, err
	}
	for _, r := range open {
		j, err := t.store.Journal(ctx, r.ID)
		if err != nil {
			return 0, err
		}
		rec, err := call.Rebuild(j)
		if err != nil || len(j) == 0 {
			return 0, fmt.Errorf("rebuild interrupted call %s: %v", r.ID, err)
		}
		// The end takes the last timed event's offset: the quality and recording amendments a
		// bridged call commits as it ends have none, and may be the journal's last rows.
		last := j[len(j)-1]
		end := call.Event{CallID: r.ID, Seq: last.Seq + 1, Kind: call.KindEnded, At: last.At, Outcome: call.Failed, Detail: ReasonInterrupted}
		for _, ev := range j {
			if ev.Timed() {
				end.Mono = max(end.Mono, ev.Mono)
			}
		}
		if !rec.Connected.IsZero() {
			end.Outcome = call.Connected
			if rec.Overflowed() {
				end.Outcome = call.Timeout
			}
		}
		if err := rec.Apply(end); err != nil {
			return 0, fmt.Errorf("close interrupted call %s: %w", r.ID, err)
		}
		w := store.Write{Record: &rec, Events: []call.Event{end}, Outbox: t.summaries(rec, 0)}
		if err := t.store.Commit(ctx, w); err != nil {
			return 0, err
		}
		t.kick(w)
	}
	return len(open), nil
}
