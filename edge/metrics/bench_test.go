package metrics

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ringside/ringside/edge/config"
	"github.com/ringside/ringside/edge/store"
	"github.com/ringside/ringside/edge/store/storetest"
)

// benchCalls is the size of the benchmark store.
const benchCalls = 1_000_000

var bench struct {
	once sync.Once
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bench.dir != "" {
		os.RemoveAll(bench.dir)
	}
	os.Exit(code)
}

// benchStore builds, once per test binary run, a store of one million calls spread evenly over
// the 13 local months 2025-03 .. 2026-03 of the fixture's site, with the fixture's numbers,
// queues and agents, written by direct SQL in large transactions (the store's own Commit is
// fsync-bound and measured by the store's benchmarks). Set RINGSIDE_METRICS_BENCH_DIR to keep
// the store in that folder and reuse it in later runs.
func benchStore(b *testing.B, cfg *config.Config) string {
	b.Helper()
	bench.once.Do(func() {
		if keep := os.Getenv("RINGSIDE_METRICS_BENCH_DIR"); keep != "" {
			// Reuse a store built by an earlier run (it is never written by the benchmarks).
			if _, err := os.Stat(filepath.Join(keep, store.FileName)); err == nil {
				return
			}
			bench.err = fillBenchStore(keep, cfg)
			return
		}
		bench.dir, bench.err = os.MkdirTemp("", "ringside-metrics-bench-")
		if bench.err != nil {
			return
		}
		bench.err = fillBenchStore(bench.dir, cfg)
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	if keep := os.Getenv("RINGSIDE_METRICS_BENCH_DIR"); keep != "" {
		return keep
	}
	return bench.dir
}

func fillBenchStore(dir string, cfg *config.Config) error {
	return storetest.FillSynthetic(dir, cfg, benchCalls)
}

func benchEngine(b *testing.B) (*Engine, *config.Config, func()) {
	cfg := fixtureConfig(b)
	dir := benchStore(b, cfg)
	st := openStore(b, dir)
	return New(st, cfg, time.Now, slog.New(slog.DiscardHandler)), cfg, func() { st.Close() }
}

// dropMemo forgets every day's partial results, so the next report scans the facts again.
func (e *Engine) dropMemo() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, d := range e.days {
		d.mu.Lock()
		d.memo = nil
		d.mu.Unlock()
	}
}

type benchMode int

const (
	memoised benchMode = iota // the same report again: whole days reuse their partial results
	scanned                   // facts cached, partial results dropped: every fact is scanned
	cold                      // a new engine (as after a restart): the year is read from SQLite
)

func benchReport(b *testing.B, p Period, f Filter, mode benchMode) {
	e, cfg, done := benchEngine(b)
	defer done()
	ctx := context.Background()
	var rep *Report
	var err error
	if mode != cold {
		if _, err := e.Report(ctx, p, f); err != nil {
			b.Fatal(err)
		}
	}
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	b.ResetTimer()
	for b.Loop() {
		switch mode {
		case cold:
			b.StopTimer()
			e = New(e.st, cfg, time.Now, slog.New(slog.DiscardHandler))
			b.StartTimer()
		case scanned:
			b.StopTimer()
			e.dropMemo()
			b.StartTimer()
		}
		if rep, err = e.Report(ctx, p, f); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
	// CPU time per report: on a loaded machine wall time (ns/op) mostly measures waiting for a core.
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(rep.Volume), "calls")
	_, bytes := e.CacheSize() // within metrics.cache_mb; reports re-read from SQLite otherwise
	b.ReportMetric(float64(bytes)/(1<<20), "cache-MB")
}

// The full KPI set (every figure, heatmap, percentiles and the source table) over a month and a
// year of the one-million-call store. Memo: the report asked again (a dashboard refresh), whole
// days reuse their partial results. Scan: every cached fact is scanned. Cold: after a restart.
func BenchmarkReportMonthMemo(b *testing.B) { benchReport(b, monthPeriod(b), Filter{}, memoised) }
func BenchmarkReportMonthScan(b *testing.B) { benchReport(b, monthPeriod(b), Filter{}, scanned) }
func BenchmarkReportYearMemo(b *testing.B)  { benchReport(b, yearPeriod(b), Filter{}, memoised) }
func BenchmarkReportYearScan(b *testing.B)  { benchReport(b, yearPeriod(b), Filter{}, scanned) }
func BenchmarkReportYearSlicedScan(b *testing.B) {
	benchReport(b, yearPeriod(b), Filter{Source: "paid_search", Agent: "alice"}, scanned)
}
func BenchmarkReportYearCold(b *testing.B) { benchReport(b, yearPeriod(b), Filter{}, cold) }

func monthPeriod(b *testing.B) Period {
	return Month(fixtureConfig(b).Site.Location, 2026, time.March)
}

func yearPeriod(b *testing.B) Period {
	loc := fixtureConfig(b).Site.Location
	p, err := DayRange(loc, "2025-04-01", "2026-03-31")
	if err != nil {
		b.Fatal(err)
	}
	return p
}
