package store

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringside/ringside/edge/call"
)

// benchWrites prepares n typical call commits: one record upsert and its journal, about eight rows.
func benchWrites(n int) []Write {
	rng := rand.New(rand.NewPCG(7, 8))
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	ws := make([]Write, n)
	for i := range ws {
		id := call.NewID()
		evs := genJournal(rng, id, at.Add(time.Duration(i)*time.Second), randomOutcome(rng))
		rec, err := call.Rebuild(evs)
		if err != nil {
			panic(err)
		}
		ws[i] = Write{Record: &rec, Events: evs}
	}
	return ws
}

func benchStore(b *testing.B) *Store {
	b.Helper()
	s, err := Open(context.Background(), b.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func reportRows(b *testing.B, ws []Write) {
	rows := 0
	for _, w := range ws {
		rows += len(w.Events)
	}
	b.ReportMetric(float64(len(ws))/b.Elapsed().Seconds(), "calls/s")
	b.ReportMetric(float64(rows)/float64(len(ws)), "journal_rows/call")
}

// BenchmarkCommitSequential: one writer, each call its own durable commit (one fsync each).
func BenchmarkCommitSequential(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	ws := benchWrites(b.N)
	b.ResetTimer()
	for i := range b.N {
		if err := s.Commit(ctx, ws[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportRows(b, ws)
}

// BenchmarkCommitConcurrent16: 16 goroutines commit at once, as on a busy site; the store's group
// commit lets the calls queued during one fsync share the next.
func BenchmarkCommitConcurrent16(b *testing.B) {
	const writers = 16
	s := benchStore(b)
	ctx := context.Background()
	ws := benchWrites(b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	b.ResetTimer()
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(ws) {
					return
				}
				if err := s.Commit(ctx, ws[i]); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	reportRows(b, ws)
}
