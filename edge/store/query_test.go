package store

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ringside/ringside/edge/call"
)

// TestQueryCalls checks the call log's query against a filter done in Go over the same calls,
// and that the planner uses an index for it.
func TestQueryCalls(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var all []call.Record
	for i := range 60 {
		id := call.NewID()
		evs := genJournal(rng, id, base.Add(time.Duration(i)*time.Hour), randomOutcome(rng))
		rec, err := call.Rebuild(evs)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Commit(ctx, Write{Record: &rec, Events: evs}); err != nil {
			t.Fatal(err)
		}
		all = append(all, rec)
	}
	from, to := base.Add(10*time.Hour), base.Add(50*time.Hour)
	want := map[string]bool{}
	for _, r := range all {
		if !r.Arrived.Before(from) && r.Arrived.Before(to) && (r.Outcome == call.Abandoned || r.Outcome == call.Busy) {
			want[r.ID] = true
		}
	}
	q := CallQuery{From: from, To: to, Outcomes: []call.Outcome{call.Abandoned, call.Busy}, Sort: "wait", Limit: 5}
	page, total, err := s.QueryCalls(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if total != len(want) || len(page) != min(5, len(want)) {
		t.Fatalf("total %d page %d, want %d and %d", total, len(page), len(want), min(5, len(want)))
	}
	for i, r := range page {
		if !want[r.ID] {
			t.Errorf("call %s does not match the filter", r.ID)
		}
		if i > 0 && page[i-1].Wait > r.Wait {
			t.Errorf("not sorted by wait at %d", i)
		}
	}
	n := 0
	for r, err := range s.EachCall(ctx, CallQuery{From: from, To: to, Outcomes: q.Outcomes}) {
		if err != nil {
			t.Fatal(err)
		}
		if !want[r.ID] {
			t.Errorf("EachCall: %s does not match", r.ID)
		}
		n++
	}
	if n != len(want) {
		t.Errorf("EachCall: %d calls, want %d", n, len(want))
	}
	waits := 0
	if err := s.Waits(ctx, CallQuery{From: from, To: to}, func(time.Duration, call.Outcome) { waits++ }); err != nil || waits != 40 {
		t.Errorf("Waits: %d calls (%v), want 40", waits, err)
	}
	if _, _, err := s.QueryCalls(ctx, CallQuery{From: to, To: from}); err == nil {
		t.Error("an empty period was accepted")
	}
	if _, _, err := s.QueryCalls(ctx, CallQuery{From: from, To: to, Sort: "caller_number; DROP TABLE calls"}); err == nil {
		t.Error("an unknown sort was accepted")
	}
	// The planner walks an index, never the whole table.
	for _, cq := range []CallQuery{{From: from, To: to}, {From: from, To: to, Caller: "+12125550100"}} {
		where, args, _ := cq.where()
		rows, err := s.reader.QueryContext(ctx, "EXPLAIN QUERY PLAN SELECT count(*) FROM calls"+where, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			rows.Scan(&id, &parent, &notused, &detail)
			plan = append(plan, detail)
		}
		rows.Close()
		p := strings.Join(plan, "; ")
		if !strings.Contains(p, "USING INDEX") && !strings.Contains(p, "USING COVERING INDEX") {
			t.Errorf("query plan without an index: %s", p)
		}
	}
}
