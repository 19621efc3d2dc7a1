package web

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/ringside/ringside/edge/metrics"
)

// Report cache bounds.
const (
	// reportCacheSize bounds the reports kept (one per period and slice asked recently).
	reportCacheSize = 32
	// reportCacheTTL bounds how long a report is reused: a config reload changes the metric knobs
	// without changing any call, and the generation check cannot see that.
	reportCacheTTL = 30 * time.Second
)

// Generations is the store's change generation of the calls table (migration 0002). When the
// Calls dependency has it (*store.Store does), reports are reused until any call changes.
type Generations interface {
	MetricsChanges(ctx context.Context, since int64) (gen int64, hours []int64, err error)
}

type reportKey struct {
	kind     string // report, waits
	from, to int64
	filter   metrics.Filter
}

type cachedReport struct {
	gen int64
	at  time.Time
	val any
}

// reportCache keeps recent reports while no call has changed: the metrics engine's cache makes a
// report cheap to recompute for a day, but a year is ~1M facts to fold on every view.
type reportCache struct {
	mu      sync.Mutex
	entries map[reportKey]cachedReport
}

// report returns the engine's report for p and f, reusing one computed at the same change
// generation within reportCacheTTL. The report is shared: callers must not change it.
func (s *Server) report(ctx context.Context, p metrics.Period, f metrics.Filter) (*metrics.Report, error) {
	v, err := s.cached(ctx, reportKey{kind: "report", from: p.From.UnixNano(), to: p.To.UnixNano(), filter: f},
		func() (any, error) { return s.eng.Report(ctx, p, f) })
	if err != nil {
		return nil, err
	}
	return v.(*metrics.Report), nil
}

// cached returns the value computed for key at the store's current change generation, or
// computes it.
func (s *Server) cached(ctx context.Context, key reportKey, compute func() (any, error)) (any, error) {
	gens, ok := s.calls.(Generations)
	if !ok {
		return compute()
	}
	gen, _, err := gens.MetricsChanges(ctx, math.MaxInt64)
	if err != nil {
		return nil, err
	}
	now := s.now()
	c := &s.reports
	c.mu.Lock()
	e, hit := c.entries[key]
	c.mu.Unlock()
	if hit && e.gen == gen && now.Sub(e.at) >= 0 && now.Sub(e.at) < reportCacheTTL {
		return e.val, nil
	}
	v, err := compute()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[reportKey]cachedReport{}
	}
	if len(c.entries) >= reportCacheSize {
		var oldest reportKey
		first := true
		for k, v := range c.entries {
			if first || v.at.Before(c.entries[oldest].at) {
				oldest, first = k, false
			}
		}
		delete(c.entries, oldest)
	}
	c.entries[key] = cachedReport{gen: gen, at: now, val: v}
	return v, nil
}
