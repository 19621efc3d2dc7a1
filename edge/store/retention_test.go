package store

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ringside/ringside/edge/call"
)

// TestPurgeBefore: retention removes the finished calls that arrived before the cut-off, with their
// journals, and keeps live calls (outcome ”) however old, and every call at or after the cut-off.
func TestPurgeBefore(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(5, 6))
	cutoff := time.Date(2025, 11, 22, 0, 0, 0, 0, time.UTC)

	type entry struct {
		id     string
		events int
		purged bool
	}
	var all []entry
	add := func(at time.Time, o call.Outcome, live, purged bool) {
		t.Helper()
		id := call.NewID()
		evs := genJournal(rng, id, at, o)
		if live { // cut before the end: a call still in progress, or cut off by a crash
			for i, ev := range evs {
				if ev.Kind == call.KindEnded || ev.Kind == call.KindRefused {
					evs = evs[:i]
					break
				}
			}
		}
		rec, err := call.Rebuild(evs)
		if err != nil {
			t.Fatal(err)
		}
		if live != (rec.Outcome == "") {
			t.Fatalf("fixture: live=%v but outcome %q", live, rec.Outcome)
		}
		if err := s.Commit(ctx, Write{Record: &rec, Events: evs}); err != nil {
			t.Fatal(err)
		}
		all = append(all, entry{id, len(evs), purged})
	}
	old := cutoff.AddDate(0, 0, -400)
	for i, o := range call.Outcomes {
		add(old.Add(time.Duration(i)*time.Hour), o, false, true)                      // old and finished: purged
		add(cutoff.Add(-time.Millisecond), o, false, true)                            // just before: purged
		add(cutoff.Add(time.Duration(i)*time.Minute), o, false, false)                // at or after: kept
		add(cutoff.AddDate(0, 1, 0).Add(time.Duration(i)*time.Hour), o, false, false) // recent: kept
	}
	add(old, call.Connected, true, false)                           // live since long ago: never purged
	add(cutoff.Add(-time.Millisecond), call.Abandoned, true, false) // live, just before: kept
	add(cutoff.Add(time.Hour), call.Connected, true, false)         // live and recent: kept

	wantPurged := 0
	for _, e := range all {
		if e.purged {
			wantPurged++
		}
	}
	n, err := s.PurgeBefore(ctx, cutoff)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(wantPurged) {
		t.Fatalf("PurgeBefore removed %d calls, want %d", n, wantPurged)
	}
	for _, e := range all {
		rec, err := s.Call(ctx, e.id)
		j, jerr := s.Journal(ctx, e.id)
		if jerr != nil {
			t.Fatal(jerr)
		}
		if e.purged {
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("call %s should be purged: %v", e.id, err)
			}
			if len(j) != 0 {
				t.Fatalf("call %s purged but %d journal rows remain", e.id, len(j))
			}
			continue
		}
		if err != nil {
			t.Fatalf("call %s should be kept: %v", e.id, err)
		}
		if len(j) != e.events {
			t.Fatalf("call %s kept with %d journal rows, want %d", e.id, len(j), e.events)
		}
		again, err := call.Rebuild(j)
		if err != nil {
			t.Fatal(err)
		}
		if d := sameRecord(rec, again); d != "" {
			t.Fatalf("call %s:%s", e.id, d)
		}
	}
	live, err := s.Unfinished(ctx)
	if err != nil || len(live) != 3 {
		t.Fatalf("Unfinished after purge = %d calls, %v; want the 3 live calls", len(live), err)
	}
	// Purging again finds nothing more.
	if n, err := s.PurgeBefore(ctx, cutoff); err != nil || n != 0 {
		t.Fatalf("second purge = %d, %v", n, err)
	}
}

// TestPurgeArrivedKeepsBelowFrom: a purge with a lower bound keeps the calls that arrived before it
// (stamped by a clock that was not set), and NewestArrival is the latest arrival stored.
func TestPurgeArrivedKeepsBelowFrom(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	if newest, err := s.NewestArrival(ctx); err != nil || !newest.IsZero() {
		t.Fatalf("NewestArrival of an empty store = %v, %v", newest, err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	floor := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ids := map[string]bool{} // id -> purged
	var newest time.Time
	for _, c := range []struct {
		at     time.Time
		purged bool
	}{
		{time.Unix(120, 0), false},      // 1970: below the floor, kept
		{floor.Add(-time.Hour), false},  // below the floor, kept
		{floor, true},                   // at the floor: purged
		{floor.AddDate(0, 3, 0), true},  // old: purged
		{floor.AddDate(1, 0, 0), false}, // at the cut-off: kept
		{floor.AddDate(1, 2, 0), false}, // recent: kept
	} {
		id := call.NewID()
		rec, err := call.Rebuild(genJournal(rng, id, c.at, call.Connected))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Commit(ctx, Write{Record: &rec}); err != nil {
			t.Fatal(err)
		}
		ids[id] = c.purged
		newest = c.at
	}
	if got, err := s.NewestArrival(ctx); err != nil || !got.Equal(newest) {
		t.Fatalf("NewestArrival = %v, %v; want %v", got, err, newest)
	}
	n, err := s.PurgeArrived(ctx, floor, floor.AddDate(1, 0, 0))
	if err != nil || n != 2 {
		t.Fatalf("PurgeArrived = %d, %v; want 2", n, err)
	}
	for id, purged := range ids {
		_, err := s.Call(ctx, id)
		if purged != errors.Is(err, ErrNotFound) {
			t.Errorf("call %s: purged %v, lookup %v", id, purged, err)
		}
	}
}
