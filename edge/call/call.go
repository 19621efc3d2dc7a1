package call

import (
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Outcome is the one result every call attempt ends with (product.md, "A call's life and its outcome").
type Outcome string

// The seven outcomes. Exactly one is set on every finished record.
const (
	Connected Outcome = "connected" // reached an agent
	Abandoned Outcome = "abandoned" // caller hung up before reaching an agent
	Busy      Outcome = "busy"      // refused: queue or line capacity full
	NoAgent   Outcome = "no_agent"  // refused or dropped: no agent logged in / available
	Timeout   Outcome = "timeout"   // waited the queue's maximum wait; overflowed or released
	Closed    Outcome = "closed"    // arrived outside business hours (or night mode)
	Failed    Outcome = "failed"    // technical failure: bad SDP, media timeout, internal error
)

// Outcomes lists every outcome in a fixed order, for reports and validation.
var Outcomes = []Outcome{Connected, Abandoned, Busy, NoAgent, Timeout, Closed, Failed}

// Valid reports whether o is one of the seven outcomes.
func (o Outcome) Valid() bool {
	for _, v := range Outcomes {
		if o == v {
			return true
		}
	}
	return false
}

// Blocked reports whether the outcome counts as "not reaching an agent" for the blocked call %.
func (o Outcome) Blocked() bool { return o != Connected && o != "" }

// Attribution is what the call is credited to: the marketing source behind the dialed number, or,
// for a dynamic (DNI) number, behind the website visit that was shown the number.
type Attribution struct {
	Source      string `json:"source"`
	Campaign    string `json:"campaign,omitempty"`
	Medium      string `json:"medium,omitempty"`
	Keyword     string `json:"keyword,omitempty"`
	GCLID       string `json:"gclid,omitempty"`
	LandingPage string `json:"landing_page,omitempty"`
}

// LegQuality is the audio quality measured on one RTP leg (RFC 3550 jitter, ITU-T G.107 MOS).
type LegQuality struct {
	Packets    int64   `json:"packets"`
	Lost       int64   `json:"lost"`
	LossPct    float64 `json:"loss_pct"`
	JitterMs   float64 `json:"jitter_ms"`
	MOS        float64 `json:"mos"`
	Duplicates int64   `json:"duplicates,omitempty"`
	Reordered  int64   `json:"reordered,omitempty"`
}

// Tags are what staff add to a call after the fact.
type Tags struct {
	// Lead is nil until a staff member decides; then it overrides the lead rule either way.
	Lead         *bool     `json:"lead,omitempty"`
	Converted    bool      `json:"converted"`
	RevenueCents int64     `json:"revenue_cents"`
	Notes        string    `json:"notes,omitempty"`
	By           string    `json:"by,omitempty"`
	At           time.Time `json:"at,omitzero"`
}

// Record is one call attempt, refused or not. It is derived from the call's journal by Apply, so the
// record and its journal never disagree, and Rebuild recreates it from the journal alone.
//
// Wall-clock timestamps are for display; every duration is measured on the monotonic clock (the Mono
// offset of each journal event from the arrival).
type Record struct {
	ID             string      `json:"id"`
	Line           string      `json:"line"`
	TrackingNumber string      `json:"tracking_number"`
	DialedNumber   string      `json:"dialed_number"`
	CallerNumber   string      `json:"caller_number"` // E.164, or "" when withheld
	CallerName     string      `json:"caller_name"`
	Withheld       bool        `json:"withheld"` // caller withheld or unavailable
	Attribution    Attribution `json:"attribution"`
	Queue          string      `json:"queue"`
	Agent          string      `json:"agent"`

	Arrived   time.Time `json:"arrived"`
	Answered  time.Time `json:"answered,omitzero"`
	Connected time.Time `json:"connected,omitzero"`
	Ended     time.Time `json:"ended,omitzero"`

	// Wait is connected-arrived for connected calls, arrived-to-end otherwise (product.md "Wait time").
	Wait time.Duration `json:"wait_ns"`
	// Talk is ended-connected for connected calls, zero otherwise.
	Talk      time.Duration `json:"talk_ns"`
	HoldTotal time.Duration `json:"hold_ns"`
	HoldCount int           `json:"hold_count"`

	Outcome   Outcome `json:"outcome"`
	Reason    string  `json:"reason,omitempty"`
	FirstTime bool    `json:"first_time"`

	Recording       string `json:"recording,omitempty"`        // path relative to the recordings root
	RecordingStatus string `json:"recording_status,omitempty"` // "", complete, cut, interrupted, closing, not started
	RecordingReason string `json:"recording_reason,omitempty"` // why a recording was cut
	// RecordingOffset is when the recording starts after Arrived; RecordingDuration its length.
	RecordingOffset   time.Duration `json:"recording_offset_ns,omitempty"`
	RecordingDuration time.Duration `json:"recording_duration_ns,omitempty"`
	CallerQuality     LegQuality    `json:"caller_quality"`
	AgentQuality      LegQuality    `json:"agent_quality"`

	Tags Tags `json:"tags"`

	// internal fold state, monotonic offsets of the current hold and of the connect.
	holdSince   time.Duration
	onHold      bool
	connectMono time.Duration
	lastMono    time.Duration
	overflowed  bool
}

// Overflowed reports whether the call was sent on to its queue's overflow target.
func (r *Record) Overflowed() bool { return r.overflowed }

// NewID returns a time-ordered call id (UUIDv7, RFC 9562), so ids sort by arrival.
func NewID() string {
	id, err := uuid.NewV7()
	if err != nil {
		// NewV7 fails only when the system's random source does; a v4 id still identifies the call.
		return uuid.NewString()
	}
	return id.String()
}

// Finished reports whether the record has its outcome.
func (r *Record) Finished() bool { return r.Outcome != "" }

// Answered reports whether the appliance answered the attempt (200 OK sent, or the line taken off
// hook): the numerator of the call completion rate.
func (r *Record) WasAnswered() bool { return !r.Answered.IsZero() }

// Apply folds one journal event into the record. Events must come in journal order; an event that
// makes no sense in the record's state (a hold before connect, anything after the end) is an error
// and leaves the record unchanged.
func (r *Record) Apply(ev Event) error {
	if r.Finished() && ev.Kind != KindTagged && ev.Kind != KindRecording && ev.Kind != KindQuality {
		return fmt.Errorf("call %s: %s after the call ended", r.ID, ev.Kind)
	}
	if ev.Kind != KindArrived && r.ID == "" {
		return fmt.Errorf("%s before arrived", ev.Kind)
	}
	if ev.Timed() && ev.Mono < r.lastMono {
		// Offsets come from the monotonic clock and never go back; one that does is a bug upstream,
		// and folding it would give negative durations.
		return fmt.Errorf("call %s: %s at %v, before the previous event at %v", r.ID, ev.Kind, ev.Mono, r.lastMono)
	}
	switch ev.Kind {
	case KindArrived:
		if r.ID != "" {
			return fmt.Errorf("call %s: arrived twice", r.ID)
		}
		a := ev.Arrival
		if a == nil {
			return fmt.Errorf("call %s: arrived event without its arrival details", ev.CallID)
		}
		r.ID = ev.CallID
		r.Arrived = ev.At
		r.Line, r.TrackingNumber, r.DialedNumber = a.Line, a.TrackingNumber, a.DialedNumber
		r.CallerNumber, r.CallerName, r.Withheld = a.CallerNumber, a.CallerName, a.Withheld
		r.Attribution, r.FirstTime = a.Attribution, a.FirstTime
	case KindAnswered:
		if r.Answered.IsZero() {
			r.Answered = ev.At
		}
	case KindQueued:
		r.Queue = ev.Queue
	case KindRinging, KindNoAnswer:
		if ev.Queue != "" {
			r.Queue = ev.Queue
		}
	case KindOverflow:
		r.overflowed = true
		if ev.Queue != "" {
			r.Queue = ev.Queue
		}
	case KindConnected:
		if !r.Connected.IsZero() {
			return fmt.Errorf("call %s: connected twice", r.ID)
		}
		r.Connected = ev.At
		r.connectMono = ev.Mono
		r.Wait = ev.Mono
		r.Agent = ev.Agent
		if ev.Queue != "" {
			r.Queue = ev.Queue
		}
	case KindHold:
		if r.Connected.IsZero() {
			return fmt.Errorf("call %s: hold before connect", r.ID)
		}
		if !r.onHold {
			r.onHold, r.holdSince = true, ev.Mono
			r.HoldCount++
		}
	case KindUnhold:
		if r.onHold {
			r.onHold = false
			r.HoldTotal += ev.Mono - r.holdSince
		}
	case KindRefused, KindEnded:
		if !ev.Outcome.Valid() {
			return fmt.Errorf("call %s: %s with invalid outcome %q", r.ID, ev.Kind, ev.Outcome)
		}
		// Check before changing anything: a refused event leaves the record as it was.
		if r.Connected.IsZero() && ev.Outcome == Connected {
			return fmt.Errorf("call %s: outcome connected without a connect", r.ID)
		}
		// A call that reached someone ends connected; or timeout when it got there only through its
		// queue's overflow (product.md: "waited the queue's maximum wait and was sent to overflow"),
		// keeping its wait to that answer and its talk time.
		if !r.Connected.IsZero() && ev.Outcome != Connected && !(ev.Outcome == Timeout && r.overflowed) {
			return fmt.Errorf("call %s: connected call ended as %s", r.ID, ev.Outcome)
		}
		r.Ended = ev.At
		r.Outcome, r.Reason = ev.Outcome, ev.Detail
		if r.Connected.IsZero() {
			r.Wait = ev.Mono
		} else {
			r.Talk = ev.Mono - r.connectMono
			if r.onHold { // a call that ends on hold: the hold lasts until the end
				r.onHold = false
				r.HoldTotal += ev.Mono - r.holdSince
			}
		}
	case KindTagged:
		if ev.Tags == nil {
			return fmt.Errorf("call %s: tagged event without tags", r.ID)
		}
		r.Tags = *ev.Tags
		r.Tags.At = ev.At
	case KindRecording:
		if ev.Recording == nil {
			return fmt.Errorf("call %s: recording event without its reference", r.ID)
		}
		r.Recording, r.RecordingStatus, r.RecordingReason = ev.Recording.Path, ev.Recording.Status, ev.Recording.Reason
		r.RecordingOffset, r.RecordingDuration = ev.Recording.Offset, ev.Recording.Duration
	case KindQuality:
		if ev.Quality == nil {
			return fmt.Errorf("call %s: quality event without figures", r.ID)
		}
		r.CallerQuality, r.AgentQuality = ev.Quality.Caller, ev.Quality.Agent
	case KindAgentNote:
		// informational only
	default:
		return fmt.Errorf("call %s: unknown event kind %q", r.ID, ev.Kind)
	}
	if ev.Timed() {
		r.lastMono = ev.Mono
	}
	return nil
}

// Rebuild recreates a call record from its journal alone.
func Rebuild(events []Event) (Record, error) {
	var r Record
	for i, ev := range events {
		if err := r.Apply(ev); err != nil {
			return Record{}, fmt.Errorf("journal entry %d: %w", i, err)
		}
	}
	return r, nil
}
