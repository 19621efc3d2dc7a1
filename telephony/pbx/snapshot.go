package pbx

import (
	"slices"
	"strings"
	"time"
)

// AgentStatus is an agent in a Snapshot.
type AgentStatus struct {
	ID         string
	State      string // unregistered, idle, ringing, on_call, wrap_up
	Since      time.Time
	CallID     string
	Registered bool
}

// WaitingCaller is a caller in a queue.
type WaitingCaller struct {
	CallID string
	Queue  string
	Wait   time.Duration
}

// ActiveCall is a call in progress.
type ActiveCall struct {
	CallID   string
	Line     string
	Queue    string
	Agent    string // when connected
	Since    time.Time
	Duration time.Duration
	OnHold   bool
}

// Snapshot is the live state for the wallboard.
type Snapshot struct {
	At      time.Time
	Agents  []AgentStatus
	Waiting []WaitingCaller
	Depth   map[string]int
	Calls   []ActiveCall
	Night   bool
	// LostLines are the line accounts (ATAs, IP-PBXes) that registered since start and whose
	// registration has since expired or been removed: the box no longer hears from them.
	LostLines []string
}

// Snapshot returns the current agents, waiting callers, queue depths and active calls.
func (s *Server) Snapshot() Snapshot {
	now := s.clock.Now()
	agents, waiting, depth := s.engine.Snapshot()
	snap := Snapshot{At: now, Depth: depth, Night: s.night.Load(), LostLines: s.LostLines()}
	for _, a := range agents {
		st := AgentStatus{ID: a.Name, State: string(a.State), Since: a.Since, CallID: a.CallID}
		if user, ok := s.agentIDs[a.Name]; ok {
			_, st.Registered = s.reg.get(user)
		}
		snap.Agents = append(snap.Agents, st)
	}
	for _, w := range waiting {
		snap.Waiting = append(snap.Waiting, WaitingCaller{CallID: w.CallID, Queue: w.Queue, Wait: w.Wait})
	}
	slices.SortFunc(snap.Waiting, func(a, b WaitingCaller) int { return int(b.Wait - a.Wait) })
	s.mu.Lock()
	calls := make([]*call, 0, len(s.calls))
	for _, c := range s.calls {
		calls = append(calls, c)
	}
	s.mu.Unlock()
	for _, c := range calls {
		c.mu.Lock()
		ac := ActiveCall{CallID: c.id, Line: c.line, Queue: c.queueName, Since: c.arrived, Duration: now.Sub(c.arrived)}
		if c.bridged != nil {
			ac.Agent = c.bridged.agent
			ac.OnHold = c.agentDir.Held()
		}
		c.mu.Unlock()
		snap.Calls = append(snap.Calls, ac)
	}
	slices.SortFunc(snap.Calls, func(a, b ActiveCall) int { return strings.Compare(a.CallID, b.CallID) })
	return snap
}

// LostLines lists the registering lines whose registration lapsed (as Snapshot.LostLines), without
// the cost of a whole snapshot.
func (s *Server) LostLines() []string {
	var lost []string
	for _, l := range s.cfg.Lines {
		if !l.Internal && s.reg.lost(l.Username) {
			lost = append(lost, l.ID)
		}
	}
	return lost
}
