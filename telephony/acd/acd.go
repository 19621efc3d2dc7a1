package acd

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// Strategy selects which idle members ring for a waiting caller.
type Strategy string

// The strategies.
const (
	RingAll     Strategy = "ring_all"
	RoundRobin  Strategy = "round_robin"
	LongestIdle Strategy = "longest_idle"
	Weighted    Strategy = "weighted"
)

// State is an agent's state.
type State string

// Agent states.
const (
	LoggedOut State = "unregistered"
	Idle      State = "idle"
	Ringing   State = "ringing"
	OnCall    State = "on_call"
	WrapUp    State = "wrap_up"
)

// Member is an agent in a queue; Weight is used by the weighted strategy (0 counts as 1).
type Member struct {
	Agent  string
	Weight int
}

// QueueConfig is one queue. The SIP side keeps the rest (music, hours, overflow).
type QueueConfig struct {
	Name       string
	Strategy   Strategy
	Members    []Member
	WrapUp     time.Duration
	MaxCallers int // 0: unlimited
}

// Clock gives the current time.
type Clock interface{ Now() time.Time }

// Change reports an agent state change (Agent set) or a queue depth change (Queue set).
type Change struct {
	Agent string
	State State
	Queue string
	Depth int
	At    time.Time
}

// Ticket is one caller in a queue.
type Ticket struct {
	Queue  string
	CallID string
	Joined time.Time

	ringing   []string // agents ringing for this ticket
	connected string
	left      bool
	wake      chan struct{}
}

// Wake is signalled when this caller may be offered agents now: it reached the front of those not
// yet ringing anyone and something changed. Only that caller is woken, not the whole queue, so a
// change costs O(queues) rather than O(waiting callers).
func (t *Ticket) Wake() <-chan struct{} { return t.wake }

type agent struct {
	name      string
	state     State
	since     time.Time // of the last state change; idle since, for longest idle
	ticket    *Ticket   // the call it rings for or serves
	wrapTimer *time.Timer
	// logoutPending: the registration ended while ringing or on a call.
	logoutPending bool
}

type queue struct {
	cfg     QueueConfig
	waiting []*Ticket
	rr      int   // round robin: index of the member rung last
	current []int // weighted: smooth weighted round robin counters
}

// Engine holds the queues and agents.
type Engine struct {
	clock  Clock
	notify func(Change)

	mu      sync.Mutex
	queues  map[string]*queue
	agents  map[string]*agent
	changed chan struct{}
	pending []Change
	emitMu  sync.Mutex // keeps notifications in order
	closed  bool
}

// New builds an engine. notify (may be nil) receives changes in order, outside the lock; it must
// not block for long.
func New(queues []QueueConfig, clock Clock, notify func(Change)) (*Engine, error) {
	e := &Engine{clock: clock, notify: notify, queues: map[string]*queue{}, agents: map[string]*agent{}, changed: make(chan struct{})}
	now := clock.Now()
	for _, qc := range queues {
		if qc.Name == "" {
			return nil, fmt.Errorf("%w: queue without a name", ErrBadConfig)
		}
		if _, dup := e.queues[qc.Name]; dup {
			return nil, fmt.Errorf("%w: queue %q twice", ErrBadConfig, qc.Name)
		}
		switch qc.Strategy {
		case "":
			qc.Strategy = RingAll
		case RingAll, RoundRobin, LongestIdle, Weighted:
		default:
			return nil, fmt.Errorf("%w: queue %q: strategy %q", ErrBadConfig, qc.Name, qc.Strategy)
		}
		e.queues[qc.Name] = &queue{cfg: qc, rr: -1, current: make([]int, len(qc.Members))}
		for _, m := range qc.Members {
			if _, ok := e.agents[m.Agent]; !ok {
				e.agents[m.Agent] = &agent{name: m.Agent, state: LoggedOut, since: now}
			}
		}
	}
	return e, nil
}

// Close stops wrap-up timers.
func (e *Engine) Close() {
	e.mu.Lock()
	e.closed = true
	for _, a := range e.agents {
		if a.wrapTimer != nil {
			a.wrapTimer.Stop()
		}
	}
	e.mu.Unlock()
}

// Changed returns a channel closed at the next change of any agent or queue.
func (e *Engine) Changed() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.changed
}

// unlock releases the lock, wakes waiters and emits pending changes in order.
func (e *Engine) unlock() {
	ch := e.pending
	e.pending = nil
	if len(ch) > 0 {
		close(e.changed)
		e.changed = make(chan struct{})
		for _, q := range e.queues {
			for _, w := range q.waiting {
				if len(w.ringing) == 0 {
					select {
					case w.wake <- struct{}{}:
					default:
					}
					break
				}
			}
		}
	}
	if len(ch) == 0 || e.notify == nil {
		e.mu.Unlock()
		return
	}
	e.emitMu.Lock() // taken before releasing mu so that emit order follows change order
	e.mu.Unlock()
	defer e.emitMu.Unlock()
	for _, c := range ch {
		e.notify(c)
	}
}

func (e *Engine) setState(a *agent, s State, now time.Time) {
	if a.state == s {
		return
	}
	a.state, a.since = s, now
	if s != WrapUp && a.wrapTimer != nil {
		a.wrapTimer.Stop()
		a.wrapTimer = nil
	}
	e.pending = append(e.pending, Change{Agent: a.name, State: s, At: now})
}

func (e *Engine) depthChanged(q *queue, now time.Time) {
	e.pending = append(e.pending, Change{Queue: q.cfg.Name, Depth: len(q.waiting), At: now})
}

// SetLoggedIn records an agent's registration coming or going. Unknown agents are ignored
// (false). Logging out while ringing or on a call keeps the call; the agent becomes logged out
// when it ends.
func (e *Engine) SetLoggedIn(name string, in bool) bool {
	e.mu.Lock()
	defer e.unlock()
	a, ok := e.agents[name]
	if !ok {
		return false
	}
	now := e.clock.Now()
	switch {
	case in && a.state == LoggedOut:
		e.setState(a, Idle, now)
	case !in && (a.state == Idle || a.state == WrapUp):
		a.logoutPending = false
		e.setState(a, LoggedOut, now)
	case !in:
		a.logoutPending = true // ringing or on a call: logged out when that ends
	case in:
		a.logoutPending = false
	}
	return true
}

// Join puts a caller in a queue. It fails with ErrQueueFull or ErrNoAgent.
func (e *Engine) Join(queueName, callID string) (*Ticket, error) {
	e.mu.Lock()
	defer e.unlock()
	q, ok := e.queues[queueName]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownQueue, queueName)
	}
	if q.cfg.MaxCallers > 0 && len(q.waiting) >= q.cfg.MaxCallers {
		return nil, ErrQueueFull
	}
	if e.loggedIn(q) == 0 {
		return nil, ErrNoAgent
	}
	now := e.clock.Now()
	t := &Ticket{Queue: queueName, CallID: callID, Joined: now, wake: make(chan struct{}, 1)}
	q.waiting = append(q.waiting, t)
	e.depthChanged(q, now)
	return t, nil
}

func (e *Engine) loggedIn(q *queue) int {
	n := 0
	for _, m := range q.cfg.Members {
		if e.agents[m.Agent].state != LoggedOut {
			n++
		}
	}
	return n
}

// LoggedIn counts the queue's members that are logged in.
func (e *Engine) LoggedIn(queueName string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	q, ok := e.queues[queueName]
	if !ok {
		return 0
	}
	return e.loggedIn(q)
}

// Leave takes a caller out of its queue (hung up, timed out, overflowed). Agents still ringing for
// it become idle; the caller must cancel those legs.
func (e *Engine) Leave(t *Ticket) {
	e.mu.Lock()
	defer e.unlock()
	e.leave(t, e.clock.Now())
}

func (e *Engine) leave(t *Ticket, now time.Time) {
	if t.left {
		return
	}
	t.left = true
	q := e.queues[t.Queue]
	if i := slices.Index(q.waiting, t); i >= 0 {
		q.waiting = slices.Delete(q.waiting, i, i+1)
		e.depthChanged(q, now)
	}
	for _, name := range t.ringing {
		if a := e.agents[name]; a.ticket == t && a.state == Ringing {
			e.release(a, now)
		}
	}
	t.ringing = nil
}

// release makes an agent idle, or logged out if it logged out meanwhile.
func (e *Engine) release(a *agent, now time.Time) {
	a.ticket = nil
	if a.logoutPending {
		a.logoutPending = false
		e.setState(a, LoggedOut, now)
		return
	}
	e.setState(a, Idle, now)
}

// Offer picks the agents to ring for t now, by the queue's strategy, and marks them ringing.
// It returns nothing when t is not yet at the front (callers ahead are not ringing anyone), is
// already ringing someone, or no member is idle.
func (e *Engine) Offer(t *Ticket) []string {
	e.mu.Lock()
	defer e.unlock()
	if t.left || t.connected != "" || len(t.ringing) > 0 {
		return nil
	}
	q := e.queues[t.Queue]
	for _, w := range q.waiting {
		if w == t {
			break
		}
		if len(w.ringing) == 0 {
			return nil // first come, first served
		}
	}
	var idle []int
	for i, m := range q.cfg.Members {
		if e.agents[m.Agent].state == Idle {
			idle = append(idle, i)
		}
	}
	if len(idle) == 0 {
		return nil
	}
	var pick []int
	switch q.cfg.Strategy {
	case RingAll:
		pick = idle
	case RoundRobin:
		n := len(q.cfg.Members)
		for k := 1; k <= n; k++ {
			i := (q.rr + k) % n
			if slices.Contains(idle, i) {
				pick = []int{i}
				q.rr = i
				break
			}
		}
	case LongestIdle:
		best := idle[0]
		for _, i := range idle[1:] {
			if e.agents[q.cfg.Members[i].Agent].since.Before(e.agents[q.cfg.Members[best].Agent].since) {
				best = i
			}
		}
		pick = []int{best}
	case Weighted:
		// Smooth weighted round robin (as nginx upstreams): add each weight, pick the largest, take
		// the total off it. Only idle members take part.
		total, best := 0, -1
		for _, i := range idle {
			w := max(q.cfg.Members[i].Weight, 1)
			q.current[i] += w
			total += w
			if best < 0 || q.current[i] > q.current[best] {
				best = i
			}
		}
		q.current[best] -= total
		pick = []int{best}
	}
	now := e.clock.Now()
	names := make([]string, 0, len(pick))
	for _, i := range pick {
		a := e.agents[q.cfg.Members[i].Agent]
		a.ticket = t
		e.setState(a, Ringing, now)
		names = append(names, a.name)
	}
	t.ringing = append(t.ringing, names...)
	return names
}

// Answered records that name answered t. Exactly one agent wins: the first. It returns false
// when t was already connected or left (the caller must then hang up the late agent's leg).
// The winner goes on call; the others ringing for t become idle (the caller cancels their legs).
func (e *Engine) Answered(t *Ticket, name string) bool {
	e.mu.Lock()
	defer e.unlock()
	now := e.clock.Now()
	a := e.agents[name]
	if t.left || t.connected != "" || a == nil || a.ticket != t {
		if a != nil && a.ticket == t && a.state == Ringing {
			e.release(a, now)
		}
		return false
	}
	t.connected = name
	e.setState(a, OnCall, now)
	for _, other := range t.ringing {
		if other == name {
			continue
		}
		if o := e.agents[other]; o.ticket == t && o.state == Ringing {
			e.release(o, now)
		}
	}
	t.ringing = nil
	q := e.queues[t.Queue]
	if i := slices.Index(q.waiting, t); i >= 0 {
		q.waiting = slices.Delete(q.waiting, i, i+1)
		e.depthChanged(q, now)
	}
	t.left = true
	return true
}

// NoAnswer records that name did not answer t (ring timeout, busy, declined): it becomes idle and
// t may be offered again.
func (e *Engine) NoAnswer(t *Ticket, name string) {
	e.mu.Lock()
	defer e.unlock()
	a := e.agents[name]
	if a == nil {
		return
	}
	t.ringing = slices.DeleteFunc(t.ringing, func(s string) bool { return s == name })
	if a.ticket == t && a.state == Ringing {
		e.release(a, e.clock.Now())
	}
}

// Hangup ends the agent's call: it goes to wrap-up for the queue's wrap-up time, then idle.
func (e *Engine) Hangup(t *Ticket, name string) {
	e.mu.Lock()
	defer e.unlock()
	a := e.agents[name]
	if a == nil || a.ticket != t || a.state != OnCall {
		return
	}
	now := e.clock.Now()
	wrap := e.queues[t.Queue].cfg.WrapUp
	a.ticket = nil
	if wrap <= 0 {
		e.release(a, now)
		return
	}
	e.setState(a, WrapUp, now)
	a.wrapTimer = time.AfterFunc(wrap, func() {
		e.mu.Lock()
		defer e.unlock()
		if e.closed || a.state != WrapUp {
			return
		}
		e.release(a, e.clock.Now())
	})
}

// AgentInfo is an agent in a snapshot.
type AgentInfo struct {
	Name   string
	State  State
	Since  time.Time
	CallID string
}

// Waiting is a caller in a snapshot.
type Waiting struct {
	Queue  string
	CallID string
	Joined time.Time
	Wait   time.Duration
}

// Snapshot lists agents (sorted by name), waiting callers and per-queue depths.
func (e *Engine) Snapshot() (agents []AgentInfo, waiting []Waiting, depth map[string]int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.clock.Now()
	for _, a := range e.agents {
		ai := AgentInfo{Name: a.name, State: a.state, Since: a.since}
		if a.ticket != nil {
			ai.CallID = a.ticket.CallID
		}
		agents = append(agents, ai)
	}
	slices.SortFunc(agents, func(x, y AgentInfo) int {
		if x.Name < y.Name {
			return -1
		}
		if x.Name > y.Name {
			return 1
		}
		return 0
	})
	depth = map[string]int{}
	for name, q := range e.queues {
		depth[name] = len(q.waiting)
		for _, t := range q.waiting {
			waiting = append(waiting, Waiting{Queue: name, CallID: t.CallID, Joined: t.Joined, Wait: now.Sub(t.Joined)})
		}
	}
	return agents, waiting, depth
}

// AgentState returns an agent's state (LoggedOut for unknown agents).
func (e *Engine) AgentState(name string) State {
	e.mu.Lock()
	defer e.mu.Unlock()
	if a, ok := e.agents[name]; ok {
		return a.state
	}
	return LoggedOut
}

// Queues returns the configured queue names.
func (e *Engine) Queues() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var n []string
	for k := range e.queues {
		n = append(n, k)
	}
	slices.Sort(n)
	return n
}
