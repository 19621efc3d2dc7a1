package tracker

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/ringside/ringside/edge/call"
	"github.com/ringside/ringside/edge/config"
	"github.com/ringside/ringside/edge/live"
	"github.com/ringside/ringside/edge/store"
)

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

const testConfig = `
site: {name: Test, time_zone: Europe/London, region: GB}
tracking_numbers:
  - {number: "020 7946 0001", source: paid_search, campaign: spring, medium: cpc, keyword: dentist}
  - {number: "020 7946 0002", source: direct}
metrics: {repeat_lookback_days: 30}
`

type harness struct {
	t      *testing.T
	st     *store.Store
	tr     *Tracker
	bus    *live.Bus
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// funcUplink adapts a function to the Uplink interface.
type funcUplink func(call.Record, int) ([]store.OutboxEntry, error)

func (f funcUplink) Summaries(r call.Record, rev int) ([]store.OutboxEntry, error) { return f(r, rev) }
func (f funcUplink) Kick()                                                         {}

func start(t *testing.T, dir string, up Uplink) *harness {
	t.Helper()
	cfg, err := config.Parse([]byte(testConfig), "test.yaml", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, st: st, bus: live.NewBus()}
	h.tr = New(st, cfg, h.bus, fixedClock{time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}, slog.New(slog.DiscardHandler), up)
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.wg.Go(func() {
		if err := h.tr.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return h
}

func (h *harness) stop() {
	h.cancel()
	h.wg.Wait()
	h.st.Close()
}

func (h *harness) sync() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.tr.Ping(ctx); err != nil {
		h.t.Fatal(err)
	}
}

// arrive posts an arrival of caller on tracking number n at t and returns the call id.
func (h *harness) arrive(n, caller string, t time.Time) string {
	id := call.NewID()
	h.tr.Post(call.Event{CallID: id, Kind: call.KindArrived, At: t, Arrival: &call.Arrival{
		Line: "trunk", TrackingNumber: n, DialedNumber: n, CallerNumber: caller, Withheld: caller == ""}})
	return id
}

func (h *harness) end(id string, t time.Time, mono time.Duration, o call.Outcome) {
	h.tr.Post(call.Event{CallID: id, Kind: call.KindRefused, At: t.Add(mono), Mono: mono, Outcome: o})
}

func TestAttributionAndFirstTime(t *testing.T) {
	h := start(t, t.TempDir(), nil)
	defer h.stop()
	t0 := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	a := h.arrive("+442079460001", "+447700900123", t0)
	h.end(a, t0, 2*time.Second, call.Busy)
	b := h.arrive("+442079460002", "+447700900123", t0.Add(time.Hour)) // same caller: repeat
	h.end(b, t0.Add(time.Hour), time.Second, call.Closed)
	c := h.arrive("+442079460001", "", t0.Add(2*time.Hour)) // withheld
	h.end(c, t0.Add(2*time.Hour), time.Second, call.NoAgent)
	d := h.arrive("+442079460001", "+447700900123", t0.AddDate(0, 0, 40)) // beyond the 30-day look-back
	h.end(d, t0.AddDate(0, 0, 40), time.Second, call.Abandoned)
	e := h.arrive("+449999999999", "+447700900999", t0.Add(3*time.Hour)) // not a tracking number
	h.end(e, t0.Add(3*time.Hour), time.Second, call.Failed)
	h.sync()

	ctx := context.Background()
	get := func(id string) call.Record {
		r, err := h.st.Call(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	ra, rb, rc, rd, re := get(a), get(b), get(c), get(d), get(e)
	if ra.Attribution != (call.Attribution{Source: "paid_search", Campaign: "spring", Medium: "cpc", Keyword: "dentist"}) {
		t.Errorf("attribution of a: %+v", ra.Attribution)
	}
	if rb.Attribution.Source != "direct" || re.Attribution.Source != "unknown" {
		t.Errorf("attribution: b %q, e %q", rb.Attribution.Source, re.Attribution.Source)
	}
	if !ra.FirstTime || rb.FirstTime || rc.FirstTime || !rd.FirstTime {
		t.Errorf("first-time: a %v b %v c(withheld) %v d(after look-back) %v", ra.FirstTime, rb.FirstTime, rc.FirstTime, rd.FirstTime)
	}
	if ra.Outcome != call.Busy || ra.Wait != 2*time.Second || rc.Outcome != call.NoAgent || !rc.Withheld {
		t.Errorf("records: %+v / %+v", ra, rc)
	}
	if len(h.tr.Live()) != 0 {
		t.Errorf("finished calls still live: %d", len(h.tr.Live()))
	}
}

func TestEventsForUnknownCallsAreRefusedAndNothingBreaks(t *testing.T) {
	h := start(t, t.TempDir(), nil)
	defer h.stop()
	h.tr.Post(call.Event{CallID: "no-such-call", Kind: call.KindConnected, At: time.Now()})
	t0 := time.Now()
	id := h.arrive("+442079460001", "+447700900123", t0)
	h.tr.Post(call.Event{CallID: id, Kind: call.KindHold, At: t0, Mono: time.Second}) // hold before connect: refused
	h.end(id, t0, 3*time.Second, call.Abandoned)
	h.sync()
	r, err := h.st.Call(context.Background(), id)
	if err != nil || r.Outcome != call.Abandoned || r.HoldCount != 0 {
		t.Fatalf("record after refused events: %+v, %v", r, err)
	}
	j, _ := h.st.Journal(context.Background(), id)
	if len(j) != 2 || j[1].Seq != 1 {
		t.Fatalf("journal %+v: refused events must not be journaled", j)
	}
}

func TestLiveRecordsExistBeforeTheEndAndRecoverClosesThem(t *testing.T) {
	dir := t.TempDir()
	h := start(t, dir, nil)
	t0 := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	waiting := h.arrive("+442079460001", "+447700900123", t0)
	talking := h.arrive("+442079460002", "+447700900124", t0)
	h.tr.Post(call.Event{CallID: talking, Kind: call.KindAnswered, At: t0, Mono: 100 * time.Millisecond})
	h.tr.Post(call.Event{CallID: talking, Kind: call.KindConnected, At: t0.Add(4 * time.Second), Mono: 4 * time.Second, Agent: "alice"})
	h.tr.Post(call.Event{CallID: talking, Kind: call.KindHold, At: t0.Add(9 * time.Second), Mono: 9 * time.Second})
	h.sync()
	if n := len(h.tr.Live()); n != 2 {
		t.Fatalf("live calls %d, want 2", n)
	}
	h.stop() // as if the process died here: the calls have no outcome on disk

	var summarized []string
	h2 := start(t, dir, funcUplink(func(r call.Record, _ int) ([]store.OutboxEntry, error) {
		summarized = append(summarized, r.ID)
		return []store.OutboxEntry{{ID: r.ID, Topic: "t", Payload: []byte(r.ID), CreatedAt: r.Ended}}, nil
	}))
	defer h2.stop()
	n, err := h2.tr.Recover(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("Recover = %d, %v", n, err)
	}
	ctx := context.Background()
	w, _ := h2.st.Call(ctx, waiting)
	c, _ := h2.st.Call(ctx, talking)
	if w.Outcome != call.Failed || w.Reason != ReasonInterrupted {
		t.Errorf("waiting call: %s %q", w.Outcome, w.Reason)
	}
	if c.Outcome != call.Connected || c.Reason != ReasonInterrupted || c.Wait != 4*time.Second || c.Talk != 5*time.Second || c.HoldTotal != 0 || c.HoldCount != 1 {
		t.Errorf("talking call: %+v", c)
	}
	if backlog, _, _ := h2.st.OutboxBacklog(ctx); backlog != 2 || len(summarized) != 2 {
		t.Errorf("outbox %d, summarized %v", backlog, summarized)
	}
}

// TestRecoverAfterUntimedAmendments: the process died after a bridged call's quality and
// recording amendments (untimed: no monotonic offset) were committed but before its end. Recover
// closes it at the last timed offset instead of refusing to start.
func TestRecoverAfterUntimedAmendments(t *testing.T) {
	dir := t.TempDir()
	h := start(t, dir, nil)
	t0 := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	id := h.arrive("+442079460001", "+447700900123", t0)
	h.tr.Post(call.Event{CallID: id, Kind: call.KindAnswered, At: t0, Mono: 100 * time.Millisecond})
	h.tr.Post(call.Event{CallID: id, Kind: call.KindConnected, At: t0.Add(4 * time.Second), Mono: 4 * time.Second, Agent: "alice"})
	h.tr.Post(call.Event{CallID: id, Kind: call.KindQuality, At: t0.Add(9 * time.Second), Quality: &call.Quality{}})
	h.tr.Post(call.Event{CallID: id, Kind: call.KindRecording, At: t0.Add(9 * time.Second),
		Recording: &call.RecordingRef{Path: "2026/05/01/x.wav", Status: "complete"}})
	h.sync()
	h.stop()

	h2 := start(t, dir, nil)
	defer h2.stop()
	if n, err := h2.tr.Recover(context.Background()); err != nil || n != 1 {
		t.Fatalf("Recover = %d, %v", n, err)
	}
	r, _ := h2.st.Call(context.Background(), id)
	if r.Outcome != call.Connected || r.Reason != ReasonInterrupted || r.Wait != 4*time.Second || r.Talk != 0 {
		t.Errorf("recovered call: %s %q, wait %v, talk %v", r.Outcome, r.Reason, r.Wait, r.Talk)
	}
}

func TestTagFinishedCall(t *testing.T) {
	h := start(t, t.TempDir(), nil)
	defer h.stop()
	t0 := time.Now()
	id := h.arrive("+442079460001", "+447700900123", t0)
	h.end(id, t0, time.Second, call.Abandoned)
	h.sync()
	yes := true
	ctx := context.Background()
	if err := h.tr.Tag(ctx, id, call.Tags{Lead: &yes, Converted: true, RevenueCents: 12500, Notes: "called back"}, "alice"); err != nil {
		t.Fatal(err)
	}
	r, err := h.st.Call(ctx, id)
	if err != nil || r.Tags.Lead == nil || !*r.Tags.Lead || !r.Tags.Converted || r.Tags.RevenueCents != 12500 || r.Tags.By != "alice" {
		t.Fatalf("tags: %+v, %v", r.Tags, err)
	}
	if err := h.tr.Tag(ctx, "missing", call.Tags{}, "alice"); err == nil {
		t.Fatal("tagging a missing call succeeded")
	}
	j, _ := h.st.Journal(ctx, id)
	if j[len(j)-1].Kind != call.KindTagged {
		t.Fatalf("last journal entry %s", j[len(j)-1].Kind)
	}
}
