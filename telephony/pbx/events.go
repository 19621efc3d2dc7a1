package pbx

import (
	"net/netip"
	"time"
)

// Inbound describes an arriving call to the Router. Every string is sanitised.
type Inbound struct {
	Line string // line account or trunk id
	// Dialed are the dialed-number candidates in order: Request-URI user, To user, then Diversion and
	// History-Info users (forwarded calls).
	Dialed     []string
	Caller     string // P-Asserted-Identity user, else From user; "" when withheld
	CallerName string
	Withheld   bool // anonymous URI or Privacy: id
	Source     netip.AddrPort
	SIPCallID  string
}

// Route is the Router's answer.
type Route struct {
	TrackingNumber string
	Queue          string
	// Record says the call is recorded. The edge decides it once, here, and records by it; the
	// queue's Announcement ("this call may be recorded") is played exactly when it is set.
	Record bool
}

// Router maps an inbound call to its tracking number and queue. It returns ErrNoRoute (or wraps
// it) when the dialed number is not ours; the call is then refused with 404 and outcome failed.
type Router interface {
	Route(Inbound) (Route, error)
}

// Kind names an event.
type Kind string

// Event kinds.
const (
	CallArrived   Kind = "arrived"
	CallAnswered  Kind = "answered" // 200 OK sent to the caller
	CallQueued    Kind = "queued"
	CallRinging   Kind = "ringing" // an agent's phone rings
	CallNoAnswer  Kind = "no_answer"
	CallConnected Kind = "connected"
	CallHold      Kind = "hold"
	CallUnhold    Kind = "unhold"
	CallOverflow  Kind = "overflow"
	CallRefused   Kind = "refused" // terminal
	CallEnded     Kind = "ended"   // terminal
	AgentChanged  Kind = "agent"
	QueueDepth    Kind = "queue_depth"
)

// Outcome is a call attempt's outcome (see docs/product.md).
type Outcome string

// Outcomes.
const (
	Connected Outcome = "connected"
	Abandoned Outcome = "abandoned"
	Busy      Outcome = "busy"
	NoAgent   Outcome = "no_agent"
	Timeout   Outcome = "timeout"
	Closed    Outcome = "closed"
	Failed    Outcome = "failed"
)

// Event is one thing that happened. Call events carry CallID; Mono is the time since the call
// arrived on the monotonic clock. Agent and queue events have no CallID.
type Event struct {
	Kind   Kind
	CallID string
	At     time.Time
	Mono   time.Duration

	Inbound *Inbound // arrived
	Route   *Route   // arrived (nil when routing failed)

	Queue string
	Agent string

	Outcome Outcome // refused, ended
	Reason  string
	Code    int // SIP status sent, for refused

	// Ended carries the call's durations, measured on the monotonic clock.
	Wait     time.Duration // connected - arrived, or until the end when never connected
	Talk     time.Duration // ended - connected
	OnHold   time.Duration // total hold time
	Holds    int
	Overflow string // overflow target: queue name or URI

	AgentState string // agent
	Depth      int    // queue_depth
}

// EventSink receives events. Publish must not block (drop or buffer inside).
type EventSink interface {
	Publish(Event)
}

// Clock gives the time; durations come from Sub of its values (monotonic with time.Now).
type Clock interface {
	Now() time.Time
}
