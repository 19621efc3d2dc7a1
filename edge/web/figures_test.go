package web

import (
	"context"
	"encoding/json"
	"html"
	"math/rand/v2"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/ringside/ringside/edge/call"
	"github.com/ringside/ringside/edge/metrics"
)

var figureAttr = regexp.MustCompile(`data-figure="([^"]+)" data-value="([^"]+)"`)

// seedDays posts n calls with a spread of outcomes, waits and sources over [from, from+days).
func seedDays(h *harness, from time.Time, days, n int, seed uint64) []string {
	rng := rand.New(rand.NewPCG(seed, 7))
	numbers := []string{"+12125550100", "+12125550101", "+12125550102"}
	outcomes := []call.Outcome{call.Connected, call.Connected, call.Connected, call.Abandoned, call.Busy, call.NoAgent, call.Timeout, call.Closed}
	var ids []string
	for i := range n {
		at := from.Add(time.Duration(rng.Int64N(int64(days) * int64(24*time.Hour))))
		caller := "+1646555" + strconv.Itoa(1000+rng.IntN(40))
		if i%9 == 0 {
			caller = ""
		}
		c := testCall{at: at, number: numbers[rng.IntN(len(numbers))], caller: caller, outcome: outcomes[rng.IntN(len(outcomes))],
			wait: time.Duration(rng.IntN(90_000)) * time.Millisecond}
		if c.outcome == call.Connected {
			c.talk, c.agent = time.Duration(rng.IntN(300_000))*time.Millisecond, []string{"alice", "bob"}[rng.IntN(2)]
		}
		ids = append(ids, h.post(c))
	}
	h.sync()
	return ids
}

// TestSameFiguresEverywhere: the same period's figures are equal on the page, in the API and
// from the metrics engine.
func TestSameFiguresEverywhere(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	loc := h.eng.Location()
	h.clock.Set(time.Date(2026, 3, 6, 12, 0, 0, 0, loc))
	ids := seedDays(h, time.Date(2026, 3, 2, 0, 0, 0, 0, loc), 3, 120, 1)
	c := h.login()
	// Staff tags: a converted lead with revenue, a non-lead.
	for i, body := range []string{`{"lead":true,"converted":true,"revenue":"250.00"}`, `{"lead":false}`, `{"converted":true,"revenue_cents":9999}`} {
		if code, msg := c.do(t, "PUT", "/api/v1/calls/"+ids[i]+"/tags", body, map[string]string{"X-CSRF-Token": c.csrf}); code != 200 {
			t.Fatalf("tag: %d %s", code, msg)
		}
	}
	for _, slice := range []struct {
		q string
		f metrics.Filter
	}{
		{"from=2026-03-02&to=2026-03-04", metrics.Filter{}},
		{"from=2026-03-03&to=2026-03-03&source=paid_search", metrics.Filter{Source: "paid_search"}},
		{"from=2026-03-02&to=2026-03-05&agent=alice", metrics.Filter{Agent: "alice"}},
	} {
		code, page := c.get(t, "/stats?"+slice.q)
		if code != 200 {
			t.Fatalf("stats page: %d", code)
		}
		_, body := c.get(t, "/api/v1/metrics?"+slice.q)
		var a MetricsAnswer
		if err := json.Unmarshal([]byte(body), &a); err != nil {
			t.Fatal(err)
		}
		q, _ := newQueryFromString(slice.q)
		p, _, err := q.period(loc, h.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		rep, err := h.eng.Report(context.Background(), p, slice.f)
		if err != nil {
			t.Fatal(err)
		}
		engine := map[string]metrics.Figure{}
		for _, f := range rep.Figures() {
			engine[f.Name] = f
		}
		shown := figureAttr.FindAllStringSubmatch(page, -1)
		if len(shown) != len(statsFigures) {
			t.Fatalf("%s: page shows %d figures, want %d", slice.q, len(shown), len(statsFigures))
		}
		if rep.Volume == 0 {
			t.Fatalf("%s: no calls in the slice; the test proves nothing", slice.q)
		}
		for _, m := range shown {
			name, onPage := m[1], html.UnescapeString(m[2])
			e, ok := engine[name]
			if !ok {
				t.Errorf("%s: page figure %s unknown to the engine", slice.q, name)
				continue
			}
			if onPage != e.String() {
				t.Errorf("%s: %s on the page %s, engine %s", slice.q, name, onPage, e.String())
			}
			av, ok := a.Figures[name]
			switch {
			case !ok:
				t.Errorf("%s: %s missing from the API", slice.q, name)
			case av == nil != e.Null:
				t.Errorf("%s: %s null in API %v, engine %v", slice.q, name, av == nil, e.Null)
			case av != nil && *av != e.Value:
				t.Errorf("%s: %s in the API %v, engine %v", slice.q, name, *av, e.Value)
			}
		}
		if a.Report.Volume != rep.Volume || a.Report.Converted != rep.Converted || a.Report.RevenueCents != rep.RevenueCents {
			t.Errorf("%s: API report volume/converted/revenue %d/%d/%d, engine %d/%d/%d", slice.q,
				a.Report.Volume, a.Report.Converted, a.Report.RevenueCents, rep.Volume, rep.Converted, rep.RevenueCents)
		}
	}
}
