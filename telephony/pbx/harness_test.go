package pbx

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/ringside/ringside/telephony/acd"
)

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// recorder is the test EventSink.
type recorder struct {
	mu     sync.Mutex
	events []Event
	notify chan struct{}
}

func newRecorder() *recorder { return &recorder{notify: make(chan struct{}, 1)} }

func (r *recorder) Publish(e Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

func (r *recorder) all() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// callEvents returns the events of calls, grouped by call id in arrival order.
func (r *recorder) calls() (ids []string, by map[string][]Event) {
	by = map[string][]Event{}
	for _, e := range r.all() {
		if e.CallID == "" {
			continue
		}
		if _, ok := by[e.CallID]; !ok {
			ids = append(ids, e.CallID)
		}
		by[e.CallID] = append(by[e.CallID], e)
	}
	return ids, by
}

// waitTerminal waits until n calls have their terminal event and returns those events in order.
func (r *recorder) waitTerminal(t *testing.T, n int, d time.Duration) []Event {
	t.Helper()
	deadline := time.After(d)
	for {
		var term []Event
		for _, e := range r.all() {
			if e.Kind == CallEnded || e.Kind == CallRefused {
				term = append(term, e)
			}
		}
		if len(term) >= n {
			return term
		}
		select {
		case <-r.notify:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("only %d of %d calls ended; events: %s", len(term), n, r.dump())
		}
	}
}

// waitKind waits for an event of kind k (optionally for agent) and returns it.
func (r *recorder) waitKind(t *testing.T, k Kind, agent string, d time.Duration) Event {
	t.Helper()
	deadline := time.After(d)
	for {
		for _, e := range r.all() {
			if e.Kind == k && (agent == "" || e.Agent == agent) {
				return e
			}
		}
		select {
		case <-r.notify:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no %s event for %q; events: %s", k, agent, r.dump())
		}
	}
}

func (r *recorder) dump() string {
	s := ""
	for _, e := range r.all() {
		s += fmt.Sprintf("\n  %-12s call=%s agent=%s q=%s out=%s reason=%q code=%d state=%s depth=%d mono=%v",
			e.Kind, shortID(e.CallID), e.Agent, e.Queue, e.Outcome, e.Reason, e.Code, e.AgentState, e.Depth, e.Mono.Round(time.Millisecond))
	}
	return s
}

// checkOneTerminal asserts every call has exactly one terminal event, and it is its last.
func (r *recorder) checkOneTerminal(t *testing.T) {
	t.Helper()
	ids, by := r.calls()
	for _, id := range ids {
		n := 0
		for _, e := range by[id] {
			if e.Kind == CallEnded || e.Kind == CallRefused {
				n++
			}
		}
		last := by[id][len(by[id])-1].Kind
		if n != 1 || (last != CallEnded && last != CallRefused) {
			t.Errorf("call %s: %d terminal events, last %s", id, n, last)
		}
	}
}

// router sends every call to one queue and reports the first dialed number as tracking number.
type router struct{ queue string }

func (r router) Route(in Inbound) (Route, error) {
	if len(in.Dialed) == 0 || in.Dialed[0] == "404" {
		return Route{}, ErrNoRoute
	}
	return Route{TrackingNumber: in.Dialed[0], Queue: r.queue}, nil
}

type testEnv struct {
	srv    *Server
	rec    *recorder
	addr   string // SIP host:port
	cancel context.CancelFunc
	done   chan error
}

// testConfig is a server on 127.0.0.1:port that admits 127.0.0.4-127.0.0.7 as a trunk and has
// agents a1..a3 (password "pw-aN") in queue "main".
func testConfig(port int) Config {
	return Config{
		Listeners:  []Listener{{Network: "udp", Addr: fmt.Sprintf("127.0.0.1:%d", port)}, {Network: "tcp", Addr: fmt.Sprintf("127.0.0.1:%d", port)}},
		PublicAddr: netip.MustParseAddr("127.0.0.1"),
		Trunks:     []Trunk{{ID: "trunk", Sources: []netip.Prefix{netip.MustParsePrefix("127.0.0.4/30")}}},
		Agents: []AgentAccount{{ID: "a1", Username: "a1", Password: "pw-a1"}, {ID: "a2", Username: "a2", Password: "pw-a2"},
			{ID: "a3", Username: "a3", Password: "pw-a3"}},
		Queues: []Queue{{Name: "main", Strategy: acd.RingAll, Members: []acd.Member{{Agent: "a1"}, {Agent: "a2"}, {Agent: "a3"}},
			RingTimeout: 10 * time.Second}},
		RTPPortMin: 20000 + (port%100)*100, RTPPortMax: 20000 + (port%100)*100 + 99,
		RateLimit: 2000, RateBurst: 4000,
	}
}

func start(t *testing.T, cfg Config) *testEnv { t.Helper(); return startWithClock(t, cfg, wallClock{}) }

// startWithClock starts a server on clock (its guard, registrar and nonces read it).
func startWithClock(t *testing.T, cfg Config, clock Clock) *testEnv {
	t.Helper()
	rec := newRecorder()
	level := slog.LevelWarn
	if os.Getenv("PBX_DEBUG") != "" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	q := "main"
	if len(cfg.Queues) > 0 {
		q = cfg.Queues[0].Name
	}
	s, err := New(cfg, router{queue: q}, rec, log, clock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	env := &testEnv{srv: s, rec: rec, addr: cfg.Listeners[0].Addr, cancel: cancel, done: make(chan error, 1)}
	go func() { env.done <- s.Run(ctx) }()
	select {
	case <-s.Ready():
	case err := <-env.done:
		t.Fatal(err)
	case <-time.After(5 * time.Second):
		t.Fatal("not ready")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-env.done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("Run did not return")
		}
	})
	return env
}

func shortID(id string) string {
	if len(id) > 6 {
		return id[len(id)-6:]
	}
	return id
}
