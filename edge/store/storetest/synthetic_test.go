package storetest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/ringside/ringside/edge/config"
	"github.com/ringside/ringside/edge/store"
)

func TestFillSynthetic(t *testing.T) {
	cfg, err := config.Load("../../../testdata/ringside.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := FillSynthetic(dir, cfg, 5000); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n, outcomes := 0, map[string]int{}
	loc := cfg.Site.Location
	for r, err := range st.CallsArrived(context.Background(), time.Date(2025, 3, 1, 0, 0, 0, 0, loc), time.Date(2026, 4, 1, 0, 0, 0, 0, loc)) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		outcomes[string(r.Outcome)]++
		if !r.Outcome.Valid() || r.TrackingNumber == "" {
			t.Fatalf("bad synthetic call %+v", r)
		}
	}
	if n != 5000 || len(outcomes) != 7 {
		t.Fatalf("%d calls with outcomes %v; want 5000 covering all seven", n, outcomes)
	}
}
