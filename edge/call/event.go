package call

import "time"

// Kind names a journal event.
type Kind string

// The journal's event kinds, in the order a call usually meets them. The journal is append-only and
// complete (unlike Asterisk's queue_log, refusals at the door are logged too).
const (
	KindArrived   Kind = "arrived"    // INVITE received / first ring seen; carries the Arrival
	KindAnswered  Kind = "answered"   // the appliance picked up (200 OK sent, or off hook)
	KindQueued    Kind = "queued"     // entered a queue
	KindRinging   Kind = "ringing"    // an agent's phone is being rung
	KindNoAnswer  Kind = "no_answer"  // an agent did not answer (timeout, decline, busy)
	KindConnected Kind = "connected"  // an agent answered and the caller is bridged
	KindHold      Kind = "hold"       // the agent put the caller on hold
	KindUnhold    Kind = "unhold"     // the agent took the caller off hold
	KindOverflow  Kind = "overflow"   // sent on to another queue or URI
	KindRefused   Kind = "refused"    // refused at the door (busy, no_agent, closed, failed); ends the call
	KindEnded     Kind = "ended"      // the call ended with its outcome
	KindRecording Kind = "recording"  // recording reference or status changed
	KindQuality   Kind = "quality"    // per-leg quality figures at the end of media
	KindTagged    Kind = "tagged"     // staff changed the tags
	KindAgentNote Kind = "agent_note" // free text from the system, for the journal reader only
)

// Arrival is what is known when a call arrives.
type Arrival struct {
	Line           string      `json:"line"`
	TrackingNumber string      `json:"tracking_number"`
	DialedNumber   string      `json:"dialed_number"`
	CallerNumber   string      `json:"caller_number,omitempty"`
	CallerName     string      `json:"caller_name,omitempty"`
	Withheld       bool        `json:"withheld,omitempty"`
	Attribution    Attribution `json:"attribution"`
	FirstTime      bool        `json:"first_time"`
}

// Quality holds the figures of both legs.
type Quality struct {
	Caller LegQuality `json:"caller"`
	Agent  LegQuality `json:"agent"`
}

// RecordingRef says where a call's recording is and in what state.
type RecordingRef struct {
	Path   string `json:"path"`             // relative to the recordings folder
	Status string `json:"status"`           // complete, cut, interrupted, closing (still being finished)
	Reason string `json:"reason,omitempty"` // why it was cut: disk full, disk too slow
	// Offset is when the file starts, after the call's arrival (its connect, unless the recording
	// includes the queue); Duration is how much audio the file holds.
	Offset   time.Duration `json:"offset_ns,omitempty"`
	Duration time.Duration `json:"duration_ns,omitempty"`
}

// Event is one journal entry. At is the wall clock (for display); Mono is the time since the call
// arrived measured on the monotonic clock, from which every duration is taken.
type Event struct {
	CallID  string        `json:"call_id"`
	Seq     int           `json:"seq"`
	Kind    Kind          `json:"kind"`
	At      time.Time     `json:"at"`
	Mono    time.Duration `json:"mono_ns"`
	Queue   string        `json:"queue,omitempty"`
	Agent   string        `json:"agent,omitempty"`
	Outcome Outcome       `json:"outcome,omitempty"`
	Detail  string        `json:"detail,omitempty"`

	Arrival   *Arrival      `json:"arrival,omitempty"`
	Tags      *Tags         `json:"tags,omitempty"`
	Quality   *Quality      `json:"quality,omitempty"`
	Recording *RecordingRef `json:"recording,omitempty"`
}

// Timed reports whether the event happens on the call's timeline, with a monotonic offset. Tags,
// notes and the quality and recording amendments are not: their Mono is zero.
func (ev Event) Timed() bool {
	return ev.Kind != KindTagged && ev.Kind != KindRecording && ev.Kind != KindQuality && ev.Kind != KindAgentNote
}
