package store

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/ringside/ringside/edge/call"
)

// TestCloseWhileCommitting: writers keep committing while the store closes (SIGTERM during a busy
// minute). Every Commit returns, either nil or ErrClosed, and every one that returned nil is in
// the database when it is opened again.
func TestCloseWhileCommitting(t *testing.T) {
	ctx := context.Background()
	for round := range 8 {
		dir := t.TempDir()
		s, err := Open(ctx, dir, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		const writers = 16
		var mu sync.Mutex
		var ok []string
		var wg sync.WaitGroup
		started := make(chan struct{}, writers)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(round), uint64(w)))
				for i := 0; i < 10_000; i++ {
					if i == 1 {
						started <- struct{}{}
					}
					id := call.NewID()
					evs := genJournal(rng, id, time.Now(), randomOutcome(rng))
					rec, _ := call.Rebuild(evs)
					err := s.Commit(ctx, Write{Record: &rec, Events: evs})
					if errors.Is(err, ErrClosed) {
						return
					}
					if err != nil {
						t.Errorf("commit: %v", err)
						return
					}
					mu.Lock()
					ok = append(ok, id)
					mu.Unlock()
				}
			}()
		}
		for range writers {
			<-started
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		finished := make(chan struct{})
		go func() { wg.Wait(); close(finished) }()
		select {
		case <-finished:
		case <-time.After(30 * time.Second):
			t.Fatalf("round %d: a Commit is still waiting 30 s after Close returned", round)
		}

		s2, err := Open(ctx, dir, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ok {
			if _, err := s2.Call(ctx, id); err != nil {
				s2.Close()
				t.Fatalf("round %d: commit of %s returned nil but: %v", round, id, err)
			}
		}
		s2.Close()
	}
	// Once closed, Commit refuses at once.
	s, err := Open(ctx, t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := s.Commit(ctx, Write{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Commit after Close = %v, want ErrClosed", err)
	}
}

// TestBadWriteInGroupCommit: one write that cannot be stored (a journal row that already exists)
// fails alone; the writes that shared its group commit are stored.
func TestBadWriteInGroupCommit(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(9, 10))
	dupID := call.NewID()
	dup := genJournal(rng, dupID, time.Now(), call.Busy)
	if err := s.Commit(ctx, Write{Events: dup[:1]}); err != nil {
		t.Fatal(err)
	}
	for round := range 4 {
		const n = 16
		errs := make([]error, n)
		ids := make([]string, n)
		bad := rng.IntN(n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if i == bad {
					errs[i] = s.Commit(ctx, Write{Events: dup[:1]}) // same (call_id, seq) again
					return
				}
				ids[i] = call.NewID()
				evs := genJournal(rand.New(rand.NewPCG(uint64(round), uint64(i))), ids[i], time.Now(), call.Connected)
				rec, _ := call.Rebuild(evs)
				errs[i] = s.Commit(ctx, Write{Record: &rec, Events: evs})
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if i == bad {
				if err == nil {
					t.Fatal("a duplicate journal row was accepted")
				}
				continue
			}
			if err != nil {
				t.Fatalf("round %d: good write %d failed beside a bad one: %v", round, i, err)
			}
			j, err := s.Journal(ctx, ids[i])
			if err != nil || len(j) == 0 {
				t.Fatalf("round %d: good write %d not stored: %d rows, %v", round, i, len(j), err)
			}
		}
	}
	// The bad write left nothing behind.
	j, err := s.Journal(ctx, dupID)
	if err != nil || len(j) != 1 {
		t.Fatalf("journal of the duplicated call: %d rows, %v", len(j), err)
	}
}
