package metrics

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringside/ringside/edge/call"
	"github.com/ringside/ringside/edge/config"
	"github.com/ringside/ringside/edge/store"
)

const fixtureDir = "../../testdata/metrics"

func readCSV(t testing.TB, name string) []map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

func atoi(t testing.TB, s string) int64 {
	t.Helper()
	if s == "" {
		return 0
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("bad number %q", s)
	}
	return v
}

// fixtureJournal turns one calls.csv row into the journal the appliance would write, with the
// first-time flag the appliance would set at arrival.
func fixtureJournal(t testing.TB, c map[string]string, firstTime bool) []call.Event {
	t.Helper()
	arrived, err := time.Parse("2006-01-02T15:04:05.000Z", c["arrived_utc"])
	if err != nil {
		t.Fatal(err)
	}
	ms := func(v int64) time.Duration { return time.Duration(v) * time.Millisecond }
	var evs []call.Event
	add := func(k call.Kind, mono time.Duration) *call.Event {
		evs = append(evs, call.Event{CallID: c["id"], Seq: len(evs), Kind: k, At: arrived.Add(mono), Mono: mono})
		return &evs[len(evs)-1]
	}
	a := add(call.KindArrived, 0)
	a.Arrival = &call.Arrival{Line: c["line"], TrackingNumber: c["tracking_number"], DialedNumber: c["tracking_number"],
		CallerNumber: c["caller"], Withheld: c["caller"] == "", FirstTime: firstTime,
		Attribution: call.Attribution{Source: c["source"], Campaign: c["campaign"], Medium: c["medium"], Keyword: c["keyword"]}}
	add(call.KindQueued, 0).Queue = c["queue"]
	answered := c["answered_ms"] != ""
	if answered {
		add(call.KindAnswered, ms(atoi(t, c["answered_ms"])))
	}
	wait, talk := ms(atoi(t, c["wait_ms"])), ms(atoi(t, c["talk_ms"]))
	outcome := call.Outcome(c["outcome"])
	end := wait
	if outcome == call.Connected {
		e := add(call.KindConnected, wait)
		e.Agent, e.Queue = c["agent"], c["queue"]
		end = wait + talk
		for _, h := range strings.Fields(c["holds"]) {
			s, d, _ := strings.Cut(h, "+")
			add(call.KindHold, wait+ms(atoi(t, s)))
			if d != "" {
				add(call.KindUnhold, wait+ms(atoi(t, s))+ms(atoi(t, d)))
			}
		}
	}
	kind := call.KindEnded
	if !answered && outcome != call.Connected && outcome != call.Abandoned && outcome != call.Timeout {
		kind = call.KindRefused
	}
	add(kind, end).Outcome = outcome
	if c["lead"] != "" || c["converted"] == "1" || c["revenue_cents"] != "0" {
		tags := &call.Tags{Converted: c["converted"] == "1", RevenueCents: atoi(t, c["revenue_cents"]), By: "fixture"}
		if c["lead"] != "" {
			l := c["lead"] == "1"
			tags.Lead = &l
		}
		add(call.KindTagged, end+time.Minute).Tags = tags
	}
	return evs
}

// loadFixture commits the fixture's calls into a real store in arrival order, computing each
// call's first-time flag with Store.SeenBefore exactly as the appliance does at arrival.
func loadFixture(t testing.TB, st *store.Store, cfg *config.Config) {
	t.Helper()
	ctx := context.Background()
	lookback := time.Duration(cfg.Metrics.RepeatLookbackDays) * 24 * time.Hour
	for _, c := range readCSV(t, "calls.csv") {
		arrived, _ := time.Parse("2006-01-02T15:04:05.000Z", c["arrived_utc"])
		first := false
		if c["caller"] != "" {
			seen, err := st.SeenBefore(ctx, c["caller"], arrived.Add(-lookback), arrived)
			if err != nil {
				t.Fatal(err)
			}
			first = !seen
		}
		evs := fixtureJournal(t, c, first)
		rec, err := call.Rebuild(evs)
		if err != nil {
			t.Fatalf("call %s: %v", c["id"], err)
		}
		if err := st.Commit(ctx, store.Write{Record: &rec, Events: evs}); err != nil {
			t.Fatal(err)
		}
	}
}

func fixtureConfig(t testing.TB) *config.Config {
	t.Helper()
	cfg, err := config.Load(filepath.Join(fixtureDir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func openStore(t testing.TB, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func parseFilter(t testing.TB, s string) Filter {
	t.Helper()
	var f Filter
	if s == "all" {
		return f
	}
	for _, kv := range strings.Split(s, ";") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "tracking_number":
			f.TrackingNumber = v
		case "source":
			f.Source = v
		case "campaign":
			f.Campaign = v
		case "medium":
			f.Medium = v
		case "queue":
			f.Queue = v
		case "agent":
			f.Agent = v
		case "line":
			f.Line = v
		default:
			t.Fatalf("unknown slice key %q", k)
		}
	}
	return f
}

type fixtureCase struct {
	period, slice string
	p             Period
	f             Filter
}

func fixtureCases(t testing.TB, loc *time.Location) []fixtureCase {
	var cs []fixtureCase
	for _, row := range readCSV(t, "periods.csv") {
		from, err1 := time.ParseInLocation("2006-01-02T15:04:05", row["from_local"], loc)
		to, err2 := time.ParseInLocation("2006-01-02T15:04:05", row["to_local"], loc)
		if err1 != nil || err2 != nil {
			t.Fatalf("periods.csv %s: %v %v", row["name"], err1, err2)
		}
		p := Period{From: from, To: to}
		for _, s := range strings.Split(row["slices"], "|") {
			cs = append(cs, fixtureCase{row["name"], s, p, parseFilter(t, s)})
		}
	}
	return cs
}

func figureMap(r *Report) map[string]Figure {
	m := map[string]Figure{}
	for _, f := range r.Figures() {
		m[f.Name] = f
	}
	return m
}

// TestFixture checks every figure of every report against expected.csv, which expected.py works
// out from calls.csv independently of this code. Any figure off, missing or extra fails.
func TestFixture(t *testing.T) {
	cfg := fixtureConfig(t)
	st := openStore(t, t.TempDir())
	defer st.Close()
	loadFixture(t, st, cfg)
	e := New(st, cfg, time.Now, slog.New(slog.DiscardHandler))

	want := map[[2]string]map[string]string{}
	for _, row := range readCSV(t, "expected.csv") {
		k := [2]string{row["period"], row["slice"]}
		if want[k] == nil {
			want[k] = map[string]string{}
		}
		want[k][row["figure"]] = row["value"]
	}
	cases := fixtureCases(t, cfg.Site.Location)
	if len(cases) != len(want) {
		t.Fatalf("periods.csv has %d reports, expected.csv %d: run python3 expected.py", len(cases), len(want))
	}
	checked := 0
	for _, c := range cases {
		rep, err := e.Report(context.Background(), c.p, c.f)
		if err != nil {
			t.Fatalf("%s %s: %v", c.period, c.slice, err)
		}
		exp := want[[2]string{c.period, c.slice}]
		if exp == nil {
			t.Fatalf("%s %s: not in expected.csv", c.period, c.slice)
		}
		got := figureMap(rep)
		for name, w := range exp {
			g, ok := got[name]
			if !ok {
				t.Errorf("%s %s %s: missing (want %s)", c.period, c.slice, name, w)
				continue
			}
			if !sameFigure(g, w) {
				t.Errorf("%s %s %s = %s, want %s", c.period, c.slice, name, g, w)
			}
			checked++
		}
		for name, g := range got {
			if _, ok := exp[name]; !ok {
				t.Errorf("%s %s %s = %s: not in expected.csv", c.period, c.slice, name, g)
			}
		}
	}
	t.Logf("%d figures checked in %d reports", checked, len(cases))
}

func sameFigure(g Figure, want string) bool {
	if want == "null" || g.Null {
		return want == "null" && g.Null
	}
	w, err := strconv.ParseFloat(want, 64)
	if err != nil {
		return false
	}
	return math.Abs(g.Value-w) <= 1e-6+1e-9*math.Abs(w)
}

// TestFixtureShape guards the fixture itself: the Done-when list asks for at least 200 calls with
// every outcome, withheld and repeat callers, and calls across midnight and a DST change.
func TestFixtureShape(t *testing.T) {
	calls := readCSV(t, "calls.csv")
	if len(calls) < 200 {
		t.Fatalf("%d calls, want >= 200", len(calls))
	}
	outcomes := map[string]int{}
	callers := map[string]int{}
	withheld := 0
	for _, c := range calls {
		outcomes[c["outcome"]]++
		if c["caller"] == "" {
			withheld++
		} else {
			callers[c["caller"]]++
		}
	}
	for _, o := range call.Outcomes {
		if outcomes[string(o)] == 0 {
			t.Errorf("no %s call", o)
		}
	}
	repeat := 0
	for _, n := range callers {
		if n > 1 {
			repeat++
		}
	}
	if withheld == 0 || repeat == 0 {
		t.Errorf("withheld %d, repeat callers %d", withheld, repeat)
	}
}

func TestPeriods(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	p, err := DayRange(ny, "2026-03-08", "2026-03-08")
	if err != nil || p.To.Sub(p.From) != 23*time.Hour {
		t.Fatalf("spring-forward day = %v (%v), want 23h", p.To.Sub(p.From), err)
	}
	if f := p.monthFraction(ny); math.Abs(f-1.0/31) > 1e-12 {
		t.Fatalf("F(one day of March) = %v, want 1/31", f)
	}
	p, _ = DayRange(ny, "2025-11-02", "2025-11-02")
	if p.To.Sub(p.From) != 25*time.Hour {
		t.Fatalf("fall-back day = %v, want 25h", p.To.Sub(p.From))
	}
	if m := Month(ny, 2026, time.March); math.Abs(m.monthFraction(ny)-1) > 1e-12 || !m.From.Equal(time.Date(2026, 3, 1, 5, 0, 0, 0, time.UTC)) {
		t.Fatalf("March: F=%v from %v", m.monthFraction(ny), m.From)
	}
	if y := (Period{Month(ny, 2025, time.April).From, Month(ny, 2026, time.March).To}); math.Abs(y.monthFraction(ny)-12) > 1e-9 {
		t.Fatalf("F(year) = %v, want 12", y.monthFraction(ny))
	}
	if _, err := DayRange(ny, "2026-03-09", "2026-03-08"); err == nil {
		t.Fatal("reversed range accepted")
	}
	if _, err := DayRange(ny, "2026-02-30x", "2026-03-08"); err == nil {
		t.Fatal("bad date accepted")
	}
}

// TestCacheStaysExact changes tags, adds and purges calls and changes knobs after the engine has
// cached the days, and checks that its reports always equal those of a fresh engine (as after a
// restart) over the same store.
func TestCacheStaysExact(t *testing.T) {
	ctx := context.Background()
	cfg := fixtureConfig(t)
	dir := t.TempDir()
	st := openStore(t, dir)
	loadFixture(t, st, cfg)
	log := slog.New(slog.DiscardHandler)
	warm := New(st, cfg, time.Now, log)
	cases := fixtureCases(t, cfg.Site.Location)
	compare := func(step string) {
		t.Helper()
		fresh := New(st, cfg, time.Now, log)
		for _, c := range cases {
			a, err := warm.Report(ctx, c.p, c.f)
			if err != nil {
				t.Fatal(err)
			}
			b, err := fresh.Report(ctx, c.p, c.f)
			if err != nil {
				t.Fatal(err)
			}
			fa, fb := a.Figures(), b.Figures()
			if len(fa) != len(fb) {
				t.Fatalf("%s: %s %s: %d figures cached, %d fresh", step, c.period, c.slice, len(fa), len(fb))
			}
			for i := range fa {
				if fa[i].Name != fb[i].Name || fa[i].String() != fb[i].String() {
					t.Fatalf("%s: %s %s: cached %s=%s, fresh %s=%s", step, c.period, c.slice, fa[i].Name, fa[i], fb[i].Name, fb[i])
				}
			}
		}
	}
	month := Month(cfg.Site.Location, 2026, time.March)
	before, err := warm.Report(ctx, month, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	compare("loaded")

	// Re-tag a call: a staff lead with revenue.
	id := "fixture-0150"
	rec, err := st.Call(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Arrived.After(month.From) || !rec.Arrived.Before(month.To) {
		t.Fatalf("%s arrived %v, outside March", id, rec.Arrived)
	}
	j, err := st.Journal(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	tag := call.Event{CallID: id, Seq: len(j), Kind: call.KindTagged, At: rec.Ended.Add(time.Hour), Mono: time.Hour,
		Tags: &call.Tags{Lead: &yes, Converted: true, RevenueCents: rec.Tags.RevenueCents + 77700, By: "test"}}
	if err := rec.Apply(tag); err != nil {
		t.Fatal(err)
	}
	if err := st.Commit(ctx, store.Write{Record: &rec, Events: []call.Event{tag}}); err != nil {
		t.Fatal(err)
	}
	after, err := warm.Report(ctx, month, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if after.RevenueCents != before.RevenueCents+77700 {
		t.Fatalf("revenue after re-tag %d, want %d", after.RevenueCents, before.RevenueCents+77700)
	}
	compare("re-tagged")

	// A new call in a cached day, and a purge of the oldest records.
	c := readCSV(t, "calls.csv")[100]
	c["id"], c["caller"] = "added-1", "+12125558888"
	evs := fixtureJournal(t, c, true)
	nr, err := call.Rebuild(evs)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Commit(ctx, store.Write{Record: &nr, Events: evs}); err != nil {
		t.Fatal(err)
	}
	if n, err := st.PurgeBefore(ctx, time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)); err != nil || n == 0 {
		t.Fatalf("purge: %d, %v", n, err)
	}
	compare("added and purged")

	// Knobs change: the cache holds raw facts, so the new knobs apply at once.
	cfg2 := *cfg
	cfg2.Metrics.ServiceLevelSeconds = 10
	cfg2.Metrics.ShortAbandon = config.Duration(2 * time.Second)
	no := false
	cfg2.Metrics.LeadRule.FirstTimeOnly = &no
	cfg2.Metrics.BillingIncrement = config.Duration(6 * time.Second)
	warm.SetConfig(&cfg2)
	cfg = &cfg2
	compare("knobs changed")

	// Restart: reopen the store; a new engine over it agrees with the old one.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = openStore(t, dir)
	defer st.Close()
	warm.st = st
	compare("reopened")
}

// TestConcurrentReports runs reports from several goroutines while calls are re-tagged, then
// checks that the engine agrees with a fresh one (run it with -race).
func TestConcurrentReports(t *testing.T) {
	ctx := context.Background()
	cfg := fixtureConfig(t)
	st := openStore(t, t.TempDir())
	defer st.Close()
	loadFixture(t, st, cfg)
	log := slog.New(slog.DiscardHandler)
	e := New(st, cfg, time.Now, log)
	cases := fixtureCases(t, cfg.Site.Location)
	errs := make(chan error, 3)
	stop := make(chan struct{})
	for w := range 3 {
		go func() {
			for i := w; ; i++ {
				select {
				case <-stop:
					errs <- nil
					return
				default:
				}
				c := cases[i%len(cases)]
				if _, err := e.Report(ctx, c.p, c.f); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := 0; i < 20; i++ {
		id := fmt.Sprintf("fixture-%04d", 40+i*9)
		rec, err := st.Call(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		j, err := st.Journal(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		tag := call.Event{CallID: id, Seq: len(j), Kind: call.KindTagged, At: rec.Ended.Add(time.Hour), Mono: time.Hour,
			Tags: &call.Tags{Converted: true, RevenueCents: int64(1000 * (i + 1)), By: "test"}}
		if err := rec.Apply(tag); err != nil {
			t.Fatal(err)
		}
		if err := st.Commit(ctx, store.Write{Record: &rec, Events: []call.Event{tag}}); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	fresh := New(st, cfg, time.Now, log)
	for _, c := range cases {
		a, err := e.Report(ctx, c.p, c.f)
		if err != nil {
			t.Fatal(err)
		}
		b, err := fresh.Report(ctx, c.p, c.f)
		if err != nil {
			t.Fatal(err)
		}
		fa, fb := a.Figures(), b.Figures()
		for i := range fa {
			if fa[i].String() != fb[i].String() {
				t.Fatalf("%s %s: %s cached %s, fresh %s", c.period, c.slice, fa[i].Name, fa[i], fb[i])
			}
		}
	}
}

// TestExpectedIsScriptOutput reruns expected.py and checks that the committed expected.csv is
// exactly its output, so nobody edits the expected figures by hand to match the code.
func TestExpectedIsScriptOutput(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3 is needed to check testdata/metrics/expected.csv: %v", err)
		}
		t.Skip("python3 not installed")
	}
	out := filepath.Join(t.TempDir(), "expected.csv")
	cmd := exec.Command(py, filepath.Join(fixtureDir, "expected.py"), out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("expected.py: %v\n%s", err, msg)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(fixtureDir, "expected.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("testdata/metrics/expected.csv is not expected.py's output: run python3 expected.py there")
	}
}
