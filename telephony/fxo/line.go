package fxo

import (
	"context"
	"time"

	"github.com/ringside/ringside/telephony/callerid"
)

// Line is the hardware of one FXO port, as the state machine consumes it. It uses standard types
// only, so package hw implements it without importing this package, and package fxosim simulates
// it. One goroutine (the port's) calls ReadFrame, SetHook and the signal methods; WriteFrame is
// called from the SIP leg's receive goroutine.
type Line interface {
	// ReadFrame blocks until the next 20 ms of line audio (len(dst) samples at 8 kHz, mono,
	// signed 16-bit) is in dst. It returns ctx's error when ctx ends, and an error when the
	// interface delivers no audio for a while (it must not block forever).
	ReadFrame(ctx context.Context, dst []int16) error
	// WriteFrame queues audio toward the line (8 kHz mono). It must not block; when the output
	// is full it drops.
	WriteFrame(src []int16) error
	// SetHook takes the line off hook (true: answer, seize the loop) or puts it on hook.
	SetHook(offHook bool) error
	// Ringing reports whether the ring detector sees ringing voltage now, and when that state
	// began (the edge's timestamp). A detector that follows each 20-25 Hz cycle must be
	// smoothed into bursts by the implementation.
	Ringing() (on bool, since time.Time)
}

// PolarityReporter is implemented by a line interface that sees loop polarity reversals
// (EN 300 659-1 clause 6.1.2: before caller ID on reversal-first lines; on many exchanges also
// when the far end hangs up).
type PolarityReporter interface {
	// Reversals returns how many reversals were seen so far and when the last one happened.
	Reversals() (n int, last time.Time)
}

// LoopCurrentReporter is implemented by a line interface that measures loop current while off
// hook. A drop (the exchange's open-loop disconnect, about 90 ms to 1 s) means the caller hung up.
type LoopCurrentReporter interface {
	// LoopCurrent reports whether loop current flows now and since when.
	LoopCurrent() (flowing bool, since time.Time)
}

// Clock gives the time; durations come from Sub of its values.
type Clock interface {
	Now() time.Time
}

// EventKind names a line event.
type EventKind string

// Event kinds.
const (
	EventRing        EventKind = "ring"      // a ring was counted (At: when it ended)
	EventReversal    EventKind = "reversal"  // a polarity reversal
	EventCallerID    EventKind = "caller_id" // caller ID decoded (Caller)
	EventCallerIDBad EventKind = "caller_id_error"
	EventMissed      EventKind = "missed"    // ringing stopped before the line answered (terminal)
	EventOffHook     EventKind = "off_hook"  // the line was answered
	EventConnected   EventKind = "connected" // the appliance answered the SIP call
	EventRefused     EventKind = "refused"   // the appliance refused it or could not be reached (Reason, Code; terminal)
	EventHangup      EventKind = "hangup"    // the call ended (Reason) and the line is on hook (terminal)
)

// Hang-up reasons.
const (
	ReasonBusy       = "busy_tone"
	ReasonReorder    = "reorder_tone"
	ReasonSilence    = "silence"
	ReasonLoopDrop   = "loop_current_drop"
	ReasonReversal   = "polarity_reversal"
	ReasonAppliance  = "appliance_bye"
	ReasonShutdown   = "shutdown"
	ReasonLineFailed = "line_failed"
)

// Refusal reasons (EventRefused).
const (
	ReasonRefused     = "appliance_refused"     // a final error response; Code holds its status
	ReasonUnreachable = "appliance_unreachable" // no final answer within DefaultDialTimeout, or the INVITE could not be sent
	ReasonSetupFailed = "call_setup_failed"     // the appliance answered, but the ACK failed or its SDP was unusable
)

// Event is one thing that happened on a port. Every attempt that rang ends with exactly one
// terminal event: EventMissed (never answered: the appliance never saw it, so the edge records
// it), EventRefused (off hook, but the appliance refused or was unreachable) or EventHangup. A
// reversal or caller ID with no ring after it is not an attempt and has no terminal event.
type Event struct {
	Kind EventKind
	Port string
	At   time.Time
	// FirstRing is when the first ring began (zero before it, e.g. for a caller ID sent ahead).
	FirstRing time.Time
	Rings     int
	// Caller is the decoded caller identity (nil before, or when none was decoded). The number
	// is personal data: never log it whole.
	Caller *callerid.Result
	Reason string
	Code   int    // EventRefused: the SIP status (0 when unreachable)
	CallID string // the SIP Call-ID of the loopback leg, once dialled
	Err    error
}

// EventSink receives a port's events. Publish must not block.
type EventSink interface {
	Publish(Event)
}
