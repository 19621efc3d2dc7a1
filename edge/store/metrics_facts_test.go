package store

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ringside/ringside/edge/call"
)

// TestMetricsChanges: every insert, update and delete of a call stamps its UTC hour with a new
// generation (migration 0002), and MetricsFacts returns what the record holds.
func TestMetricsChanges(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	gen0, _, err := s.MetricsChanges(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 8, 6, 59, 0, 0, time.UTC)
	id := call.NewID()
	evs := sampleJournal(id, at)
	rec, err := call.Rebuild(evs)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, Write{Record: &rec, Events: evs}); err != nil {
		t.Fatal(err)
	}
	hour := at.UnixMilli() / 3600_000
	gen1, hours, err := s.MetricsChanges(ctx, gen0)
	if err != nil || gen1 <= gen0 || !slices.Equal(hours, []int64{hour}) {
		t.Fatalf("after insert: gen %d -> %d, hours %v (want [%d]), %v", gen0, gen1, hours, hour, err)
	}
	if _, hours, _ := s.MetricsChanges(ctx, gen1); len(hours) != 0 {
		t.Fatalf("nothing changed, yet hours %v", hours)
	}

	var got []MetricsRow
	collect := func() {
		got = nil
		if err := s.MetricsFacts(ctx, at.Add(-time.Hour), at.Add(time.Hour), func(r *MetricsRow) error {
			c := *r
			c.Source = slices.Clone(r.Source)
			got = append(got, c)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	collect()
	if len(got) != 1 || got[0].WaitMs != 3200 || got[0].TalkMs != 66800 || got[0].HoldMs != 5000 || got[0].Lead != -1 ||
		string(got[0].Source) != "paid_search" || !got[0].FirstTime || got[0].EndedMs-got[0].AnsweredMs != 69900 {
		t.Fatalf("facts %+v", got)
	}

	yes := true
	tag := call.Event{CallID: id, Seq: len(evs), Kind: call.KindTagged, At: at.Add(time.Hour), Tags: &call.Tags{Lead: &yes, RevenueCents: 500}}
	if err := rec.Apply(tag); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, Write{Record: &rec, Events: []call.Event{tag}}); err != nil {
		t.Fatal(err)
	}
	gen2, hours, err := s.MetricsChanges(ctx, gen1)
	if err != nil || gen2 <= gen1 || !slices.Equal(hours, []int64{hour}) {
		t.Fatalf("after update: gen %d -> %d, hours %v, %v", gen1, gen2, hours, err)
	}
	collect()
	if got[0].Lead != 1 || got[0].RevenueCents != 500 {
		t.Fatalf("after tag: %+v", got[0])
	}

	if n, err := s.PurgeBefore(ctx, at.Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("purge %d, %v", n, err)
	}
	gen3, hours, err := s.MetricsChanges(ctx, gen2)
	if err != nil || gen3 <= gen2 || !slices.Equal(hours, []int64{hour}) {
		t.Fatalf("after delete: gen %d -> %d, hours %v, %v", gen2, gen3, hours, err)
	}
	collect()
	if len(got) != 0 {
		t.Fatalf("purged call still scanned: %+v", got)
	}
}
