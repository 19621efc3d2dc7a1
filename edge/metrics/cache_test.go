package metrics

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/ringside/ringside/edge/store/storetest"
)

// TestCacheBound: an engine whose cache is smaller than a year of calls gives the same figures
// as an unbounded one, for the year, an evicted month and a slice, and after each report holds
// at most its bound, keeping the days read last and, of those, the newest.
func TestCacheBound(t *testing.T) {
	ctx := context.Background()
	cfg := fixtureConfig(t)
	dir := t.TempDir()
	// About 40 calls a local day over 13 months: some 1.7 MB of facts and partial results.
	if err := storetest.FillSynthetic(dir, cfg, 15_000); err != nil {
		t.Fatal(err)
	}
	st := openStore(t, dir)
	defer st.Close()
	log := slog.New(slog.DiscardHandler)

	small := *cfg
	small.Metrics.CacheMB = 1
	const limit = 1 << 20
	bounded := New(st, &small, time.Now, log)
	whole := *cfg
	whole.Metrics.CacheMB = 0 // no bound
	ref := New(st, &whole, time.Now, log)

	loc := cfg.Site.Location
	year, err := DayRange(loc, "2025-04-01", "2026-03-31")
	if err != nil {
		t.Fatal(err)
	}
	oldMonth := Month(loc, 2025, time.May)
	cases := []struct {
		name string
		p    Period
		f    Filter
	}{
		{"year", year, Filter{}},
		{"year again", year, Filter{}},
		{"an evicted month", oldMonth, Filter{}},
		{"a sliced year", year, Filter{Source: "paid_search", Agent: "alice"}},
		{"the month again", oldMonth, Filter{}},
	}
	for _, c := range cases {
		a, err := bounded.Report(ctx, c.p, c.f)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		b, err := ref.Report(ctx, c.p, c.f)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if a.Volume == 0 {
			t.Fatalf("%s: no calls", c.name)
		}
		fa, fb := a.Figures(), b.Figures()
		if len(fa) != len(fb) {
			t.Fatalf("%s: %d figures bounded, %d unbounded", c.name, len(fa), len(fb))
		}
		for i := range fa {
			if fa[i].Name != fb[i].Name || fa[i].String() != fb[i].String() {
				t.Fatalf("%s: bounded %s=%s, unbounded %s=%s", c.name, fa[i].Name, fa[i], fb[i].Name, fb[i])
			}
		}
		days, bytes := bounded.CacheSize()
		if bytes > limit || days == 0 {
			t.Fatalf("%s: bounded cache holds %d days, %d bytes; bound %d", c.name, days, bytes, limit)
		}
		t.Logf("%s: bounded cache %d days, %d KiB", c.name, days, bytes>>10)
	}
	if days, bytes := ref.CacheSize(); bytes <= limit {
		t.Fatalf("the year fits the bound (%d days, %d bytes): the test proves nothing", days, bytes)
	}

	cached := func(y int, m time.Month, d int) bool {
		bounded.mu.Lock()
		defer bounded.mu.Unlock()
		_, ok := bounded.days[dayNum(y, m, d)]
		return ok
	}
	// The month read last stays; of the year read before it, the newest days outlive the oldest.
	if !cached(2025, time.May, 1) || !cached(2025, time.May, 31) {
		t.Error("the month read last was evicted")
	}
	if !cached(2026, time.March, 31) {
		t.Error("the year's newest day was evicted before older ones")
	}
	if cached(2025, time.April, 1) {
		t.Error("the year's oldest day outlived newer ones")
	}

	// A bound set by a config reload applies at once.
	ref.SetConfig(&small)
	if days, bytes := ref.CacheSize(); bytes > limit || days == 0 {
		t.Fatalf("after a reload to %d MB the cache holds %d days, %d bytes", small.Metrics.CacheMB, days, bytes)
	}
}
