// Package live is the appliance's in-process stream of live events: calls arriving, queued,
// ringing, connected, on hold and ended; agents changing state; queue depths; LED, alarm and uplink
// state. The web page (Server-Sent Events), the LEDs, Prometheus and the uplink's live gauges all
// subscribe to it.
//
// Publishing never blocks the call path: each subscriber has a bounded buffer, and a subscriber
// that falls behind loses events (counted in Dropped) rather than slowing a call. Consumers that
// must not lose anything (the call records, the outbox) do not read from here: they are written
// through the store before the event is published.
package live

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringside/ringside/edge/call"
)

// Type says which part of Event is set.
type Type string

// Event types.
const (
	TypeCall   Type = "call"   // Call and Record are set
	TypeAgent  Type = "agent"  // Agent is set
	TypeQueue  Type = "queue"  // Queue is set
	TypeStatus Type = "status" // Status is set: LEDs, alarms, uplink, night mode
)

// Event is one thing that happened, numbered in publication order.
type Event struct {
	Seq    uint64       `json:"seq"`
	At     time.Time    `json:"at"`
	Type   Type         `json:"type"`
	Call   *call.Event  `json:"call,omitempty"`
	Record *call.Record `json:"record,omitempty"` // the call as it stands after Call
	Agent  *AgentState  `json:"agent,omitempty"`
	Queue  *QueueDepth  `json:"queue,omitempty"`
	Status *Status      `json:"status,omitempty"`
}

// AgentState is an agent's phone as the queue sees it.
type AgentState struct {
	Agent string `json:"agent"`
	State string `json:"state"` // offline, idle, ringing, on_call, wrap_up
	Call  string `json:"call,omitempty"`
}

// QueueDepth is how many callers wait in a queue, and the longest wait.
type QueueDepth struct {
	Queue       string        `json:"queue"`
	Waiting     int           `json:"waiting"`
	LongestWait time.Duration `json:"longest_wait_ns"`
}

// Status is the appliance's own state, mirrored on the LEDs.
type Status struct {
	NightMode bool              `json:"night_mode"`
	Alarms    []string          `json:"alarms,omitempty"`
	Uplink    string            `json:"uplink,omitempty"`
	LEDs      map[string]string `json:"leds,omitempty"`
}

// Bus fans events out to subscribers.
type Bus struct {
	mu      sync.Mutex
	subs    map[*sub]struct{}
	seq     uint64
	dropped atomic.Uint64
}

type sub struct{ ch chan Event }

// NewBus returns an empty bus.
func NewBus() *Bus { return &Bus{subs: map[*sub]struct{}{}} }

// Publish numbers ev and hands it to every subscriber that has room.
func (b *Bus) Publish(ev Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	ev.Seq = b.seq
	for s := range b.subs {
		select {
		case s.ch <- ev:
		default:
			b.dropped.Add(1)
		}
	}
}

// Subscribe returns a channel of events with room for buffer events, and a function that ends the
// subscription and closes the channel.
func (b *Bus) Subscribe(buffer int) (<-chan Event, func()) {
	s := &sub{ch: make(chan Event, buffer)}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	var once sync.Once
	return s.ch, func() {
		once.Do(func() {
			b.mu.Lock()
			delete(b.subs, s)
			b.mu.Unlock()
			close(s.ch)
		})
	}
}

// Dropped counts events that subscribers had no room for.
func (b *Bus) Dropped() uint64 { return b.dropped.Load() }
