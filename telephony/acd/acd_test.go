package acd

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newEngine(t *testing.T, s Strategy, members []Member, maxCallers int, wrap time.Duration) (*Engine, *fakeClock, *[]Change) {
	t.Helper()
	clk := &fakeClock{t: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)}
	var changes []Change
	var mu sync.Mutex
	e, err := New([]QueueConfig{{Name: "sales", Strategy: s, Members: members, MaxCallers: maxCallers, WrapUp: wrap}}, clk,
		func(c Change) { mu.Lock(); changes = append(changes, c); mu.Unlock() })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	for _, m := range members {
		clk.Add(time.Second)
		e.SetLoggedIn(m.Agent, true)
	}
	return e, clk, &changes
}

func members(names ...string) []Member {
	var m []Member
	for _, n := range names {
		m = append(m, Member{Agent: n, Weight: 1})
	}
	return m
}

func serve(t *testing.T, e *Engine, id string) string {
	t.Helper()
	tk, err := e.Join("sales", id)
	if err != nil {
		t.Fatal(err)
	}
	got := e.Offer(tk)
	if len(got) != 1 {
		t.Fatalf("offer %v", got)
	}
	if !e.Answered(tk, got[0]) {
		t.Fatal("answer lost")
	}
	e.Hangup(tk, got[0])
	return got[0]
}

func TestRoundRobin(t *testing.T) {
	e, _, _ := newEngine(t, RoundRobin, members("a", "b", "c"), 0, 0)
	var seq string
	for i := range 6 {
		seq += serve(t, e, fmt.Sprint(i))
	}
	if seq != "abcabc" {
		t.Fatalf("order %s", seq)
	}
}

func TestLongestIdle(t *testing.T) {
	e, clk, _ := newEngine(t, LongestIdle, members("a", "b", "c"), 0, 0)
	// a logged in first, so a is longest idle; after serving, a is the most recent.
	var seq string
	for i := range 4 {
		clk.Add(time.Second)
		seq += serve(t, e, fmt.Sprint(i))
	}
	if seq != "abca" {
		t.Fatalf("order %s", seq)
	}
}

func TestWeightedShares(t *testing.T) {
	e, _, _ := newEngine(t, Weighted, []Member{{"a", 3}, {"b", 1}}, 0, 0)
	count := map[string]int{}
	for i := range 40 {
		count[serve(t, e, fmt.Sprint(i))]++
	}
	if count["a"] != 30 || count["b"] != 10 {
		t.Fatalf("shares %v, want 30/10", count)
	}
}

func TestRingAllOneWinnerUnderRace(t *testing.T) {
	for round := range 200 {
		e, _, _ := newEngine(t, RingAll, members("a", "b", "c"), 0, 0)
		tk, _ := e.Join("sales", "x")
		ring := e.Offer(tk)
		if len(ring) != 3 {
			t.Fatalf("ring-all rang %v", ring)
		}
		var wins atomic.Int32
		var wg sync.WaitGroup
		for _, a := range ring {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if e.Answered(tk, a) {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("round %d: %d winners", round, wins.Load())
		}
		agents, _, depth := e.Snapshot()
		oncall, idle := 0, 0
		for _, a := range agents {
			switch a.State {
			case OnCall:
				oncall++
			case Idle:
				idle++
			}
		}
		if oncall != 1 || idle != 2 || depth["sales"] != 0 {
			t.Fatalf("after race: %+v depth %v", agents, depth)
		}
	}
}

func TestFIFOAndLimits(t *testing.T) {
	e, _, changes := newEngine(t, RoundRobin, members("a"), 2, 0)
	t1, _ := e.Join("sales", "1")
	t2, _ := e.Join("sales", "2")
	if _, err := e.Join("sales", "3"); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("third caller: %v", err)
	}
	if got := e.Offer(t2); got != nil {
		t.Fatalf("second caller served before the first: %v", got)
	}
	if got := e.Offer(t1); len(got) != 1 {
		t.Fatalf("first caller: %v", got)
	}
	e.NoAnswer(t1, "a")
	e.Leave(t1)
	if got := e.Offer(t2); len(got) != 1 {
		t.Fatalf("second caller after first left: %v", got)
	}
	e.Leave(t2)
	e.SetLoggedIn("a", false)
	if _, err := e.Join("sales", "4"); !errors.Is(err, ErrNoAgent) {
		t.Fatalf("no agent: %v", err)
	}
	var depths []int
	for _, c := range *changes {
		if c.Queue == "sales" {
			depths = append(depths, c.Depth)
		}
	}
	if fmt.Sprint(depths) != "[1 2 1 0]" {
		t.Errorf("depth changes %v", depths)
	}
}

func TestWrapUpThenIdle(t *testing.T) {
	e, _, _ := newEngine(t, RingAll, members("a"), 0, 50*time.Millisecond)
	ch := e.Changed()
	serve(t, e, "1")
	<-ch
	if s := e.AgentState("a"); s != WrapUp {
		t.Fatalf("state %s", s)
	}
	deadline := time.After(2 * time.Second)
	for e.AgentState("a") != Idle {
		select {
		case <-e.Changed():
		case <-deadline:
			t.Fatal("never idle")
		}
	}
}

func TestLogoutWhileOnCall(t *testing.T) {
	e, _, _ := newEngine(t, RingAll, members("a"), 0, 0)
	tk, _ := e.Join("sales", "1")
	e.Offer(tk)
	e.Answered(tk, "a")
	e.SetLoggedIn("a", false)
	if e.AgentState("a") != OnCall {
		t.Fatal("call dropped by logout")
	}
	e.Hangup(tk, "a")
	if e.AgentState("a") != LoggedOut {
		t.Fatalf("state %s", e.AgentState("a"))
	}
}

func TestWakeOnlyTheFront(t *testing.T) {
	e, _, _ := newEngine(t, RoundRobin, members("a"), 0, 0)
	t1, _ := e.Join("sales", "1")
	t2, _ := e.Join("sales", "2")
	drainWake := func(tk *Ticket) bool {
		select {
		case <-tk.Wake():
			return true
		default:
			return false
		}
	}
	drainWake(t1)
	drainWake(t2)
	e.SetLoggedIn("b-unknown", true) // no change
	e.SetLoggedIn("a", false)
	e.SetLoggedIn("a", true) // a change: only the front caller wakes
	if !drainWake(t1) || drainWake(t2) {
		t.Fatal("wake should reach the first caller only")
	}
	if got := e.Offer(t1); len(got) != 1 {
		t.Fatal(got)
	}
	// t1 now rings someone: t2 is the front of the not-ringing callers and is woken.
	if !drainWake(t2) {
		t.Fatal("second caller not woken once the first rang")
	}
}
