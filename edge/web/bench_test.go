package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/ringside/ringside/edge/call"
	"github.com/ringside/ringside/edge/config"
	"github.com/ringside/ringside/edge/live"
	"github.com/ringside/ringside/edge/metrics"
	"github.com/ringside/ringside/edge/store"
	"github.com/ringside/ringside/edge/store/storetest"
	"github.com/ringside/ringside/edge/tracker"
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

// benchConfig is the metrics fixture's site (testdata/metrics/config.yaml).
func benchConfig(b testing.TB) *config.Config {
	cfg, err := config.Load(filepath.Join("..", "..", "testdata", "metrics", "config.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		b.Fatal(err)
	}
	cfg.Web.AdminPasswordHash = string(h)
	return cfg
}

// fillBenchStore writes the same one million calls as edge/metrics' benchmark.
func fillBenchStore(dir string, cfg *config.Config) error {
	return storetest.FillSynthetic(dir, cfg, benchCalls)
}

type benchServer struct {
	h      http.Handler
	cookie *http.Cookie
	done   func()
}

// newBenchServer serves the one-million-call store with a clock on 2026-03-16 14:00 local
// (a Monday with a full day's calls so far) and 12 live calls in the tracker.
func newBenchServer(b *testing.B, uncached bool) *benchServer {
	cfg := benchConfig(b)
	bench.once.Do(func() {
		if bench.dir, bench.err = os.MkdirTemp("", "ringside-web-bench-"); bench.err == nil {
			t0 := time.Now()
			bench.err = fillBenchStore(bench.dir, cfg)
			fmt.Fprintf(os.Stderr, "filled %d calls in %v\n", benchCalls, time.Since(t0).Round(time.Second))
		}
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	log := slog.New(slog.DiscardHandler)
	st, err := store.Open(context.Background(), bench.dir, log)
	if err != nil {
		b.Fatal(err)
	}
	clock := &testClock{}
	clock.Set(time.Date(2026, 3, 16, 14, 0, 0, 0, cfg.Site.Location))
	bus := live.NewBus()
	tr := tracker.New(st, cfg, bus, clock, log, nil)
	eng := metrics.New(st, cfg, clock.Now, log)
	var calls Calls = st
	if uncached {
		calls = callsOnly{st} // hides MetricsChanges: every report is computed
	}
	srv, err := New(Deps{Config: cfg, Calls: calls, Tracker: tr, Metrics: eng, Bus: bus, Clock: clock, Log: log})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { tr.Run(ctx) })
	wg.Go(func() { srv.Run(ctx) })
	for i := range 12 {
		id := call.NewID()
		at := clock.Now().Add(-time.Duration(i) * 20 * time.Second)
		tr.Post(call.Event{CallID: id, Kind: call.KindArrived, At: at, Arrival: &call.Arrival{Line: "trunk", TrackingNumber: "+12125550101", CallerNumber: fmt.Sprintf("+1917555%04d", i)}})
		tr.Post(call.Event{CallID: id, Kind: call.KindQueued, At: at, Queue: "front-desk"})
		if i%3 == 0 {
			tr.Post(call.Event{CallID: id, Kind: call.KindConnected, At: at.Add(5 * time.Second), Mono: 5 * time.Second, Queue: "front-desk", Agent: "alice"})
		}
	}
	pctx, pcancel := context.WithTimeout(ctx, 30*time.Second)
	if err := tr.Ping(pctx); err != nil {
		b.Fatal(err)
	}
	pcancel()
	sess, err := srv.auth.login("127.0.0.1", testUser, testPassword)
	if err != nil {
		b.Fatal("login")
	}
	return &benchServer{h: srv.Handler(), cookie: &http.Cookie{Name: SessionCookie, Value: sess.token},
		done: func() { cancel(); wg.Wait(); st.Close() }}
}

func (s *benchServer) get(b *testing.B, path string) time.Duration {
	req := httptest.NewRequest("GET", path, nil)
	req.AddCookie(s.cookie)
	w := httptest.NewRecorder()
	t0 := time.Now()
	s.h.ServeHTTP(w, req)
	d := time.Since(t0)
	if w.Code != 200 {
		b.Fatalf("GET %s: %d %s", path, w.Code, w.Body.String())
	}
	return d
}

// benchLatency measures path and reports the p50/p95 latency of its requests. The first
// request (which fills the metrics engine's cache from SQLite) is reported apart as cold-ms.
func benchLatency(b *testing.B, path string) { benchLatencyCache(b, path, false) }

// callsOnly is a Calls without the change generation, so nothing is cached.
type callsOnly struct{ Calls }

func benchLatencyCache(b *testing.B, path string, uncached bool) {
	s := newBenchServer(b, uncached)
	defer s.done()
	cold := s.get(b, path)
	var ds []time.Duration
	for b.Loop() {
		ds = append(ds, s.get(b, path))
	}
	slices.Sort(ds)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(ds[(len(ds)-1)/2]), "p50-ms")
	b.ReportMetric(ms(ds[(len(ds)*95+99)/100-1]), "p95-ms")
	b.ReportMetric(ms(cold), "cold-ms")
}

// The wallboard's data: live calls, agents and today's figures (2,500 calls today).
func BenchmarkWallboardAPI(b *testing.B) { benchLatency(b, "/api/v1/live") }

// The wallboard page, server-rendered.
func BenchmarkWallboardPage(b *testing.B) { benchLatency(b, "/wallboard") }

// The metrics API for a month (77,000 calls) and the last 12 months (920,000 calls).
func BenchmarkMetricsAPIMonth(b *testing.B) { benchLatency(b, "/api/v1/metrics?period=month") }
func BenchmarkMetricsAPIYear(b *testing.B)  { benchLatency(b, "/api/v1/metrics?period=year") }
func BenchmarkMetricsAPIYearSliced(b *testing.B) {
	benchLatency(b, "/api/v1/metrics?period=year&source=paid_search&agent=alice")
}

// The same without the web layer's report cache: every request computes (as the first view after
// any call changed does).
func BenchmarkWallboardAPIUncached(b *testing.B) { benchLatencyCache(b, "/api/v1/live", true) }
func BenchmarkMetricsAPIMonthUncached(b *testing.B) {
	benchLatencyCache(b, "/api/v1/metrics?period=month", true)
}
func BenchmarkMetricsAPIYearUncached(b *testing.B) {
	benchLatencyCache(b, "/api/v1/metrics?period=year", true)
}

// The call list's first page for a month, and the wait distribution of a month.
func BenchmarkCallsAPIMonth(b *testing.B) { benchLatency(b, "/api/v1/calls?period=month") }
func BenchmarkWaitsAPIMonth(b *testing.B) { benchLatency(b, "/api/v1/metrics/waits?period=month") }

// firstLoad fetches a page and every asset it links, and returns the bytes transferred.
func firstLoad(t testing.TB, h *harness, c *client, page string) int {
	t.Helper()
	total := 0
	paths := []string{page, "/static/app.css", "/static/app.js"}
	// The metrics view carries its report in the page: no data request.
	if page == "/wallboard" {
		paths = append(paths, "/api/v1/live")
	}
	for _, p := range paths {
		resp, err := c.Get(h.ts.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", p, resp.StatusCode)
		}
		total += int(n)
	}
	return total
}

// firstLoadBudget is the goal for a page's first load (HTML + assets, uncompressed).
const firstLoadBudget = 300 << 10

func TestFirstLoadBudget(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c := h.login()
	for _, p := range []string{"/wallboard", "/stats", "/calls", "/abandoned"} {
		if n := firstLoad(t, h, c, p); n > firstLoadBudget {
			t.Errorf("%s first load %d bytes, budget %d", p, n, firstLoadBudget)
		}
	}
}

// BenchmarkFirstLoad reports the bytes of the wallboard's and the metrics view's first load.
func BenchmarkFirstLoad(b *testing.B) {
	h := newHarness(b, harnessOpts{})
	c := h.login()
	var wb, st int
	for b.Loop() {
		wb = firstLoad(b, h, c, "/wallboard")
		st = firstLoad(b, h, c, "/stats")
	}
	b.ReportMetric(float64(wb), "wallboard-bytes")
	b.ReportMetric(float64(st), "stats-bytes")
}
