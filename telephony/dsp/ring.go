package dsp

import "time"

// Defaults for RingConfig.
const (
	// DefaultRingMinOn is the shortest burst of ringing counted as a ring: shorter bursts are the
	// clicks of hook switching and line tests (GR-30 and EN 300 659-1 both put the shortest
	// alerting burst well above 200 ms).
	DefaultRingMinOn = 200 * time.Millisecond
	// DefaultRingMergeGap joins bursts closer than this into one ring: the UK and Irish double
	// ring (0.4 on, 0.2 off, 0.4 on) and a ring detector that reports each 20-25 Hz cycle.
	DefaultRingMergeGap = 500 * time.Millisecond
	// DefaultRingStopAfter ends the ringing when no ring has started for this long: the longest
	// common silence between rings is 4 s (North America) and exchanges drift a little.
	DefaultRingStopAfter = 6 * time.Second
)

// RingConfig tunes a RingCounter. Zero fields take the defaults.
type RingConfig struct {
	MinOn     time.Duration
	MergeGap  time.Duration
	StopAfter time.Duration
}

// RingCounter counts rings from the ring detector's on/off edges, with their timestamps (take
// them from the injected clock, or from a sample counter via Duration). It is not safe for
// concurrent use.
type RingCounter struct {
	cfg        RingConfig
	count      int
	on         bool
	burstStart time.Time // start of the current ring (first burst of the group)
	lastOff    time.Time // end of the last burst
	counted    bool      // the current group has been counted
	active     bool      // a group has started and has not been merged away
}

// NewRingCounter returns a counter with cfg's timing (zero fields take the defaults).
func NewRingCounter(cfg RingConfig) *RingCounter {
	if cfg.MinOn == 0 {
		cfg.MinOn = DefaultRingMinOn
	}
	if cfg.MergeGap == 0 {
		cfg.MergeGap = DefaultRingMergeGap
	}
	if cfg.StopAfter == 0 {
		cfg.StopAfter = DefaultRingStopAfter
	}
	return &RingCounter{cfg: cfg}
}

// Edge reports that ringing voltage appeared (on) or went away at the given time. It returns
// the number of rings so far and whether this edge completed a new one. Edges must come in
// time order; a repeated state is ignored.
func (r *RingCounter) Edge(on bool, at time.Time) (rings int, counted bool) {
	if on == r.on {
		return r.count, false
	}
	r.on = on
	if on {
		if !r.active || at.Sub(r.lastOff) >= r.cfg.MergeGap {
			r.burstStart, r.counted, r.active = at, false, true
		}
		return r.count, false
	}
	r.lastOff = at
	if !r.counted && at.Sub(r.burstStart) >= r.cfg.MinOn {
		r.counted = true
		r.count++
		return r.count, true
	}
	return r.count, false
}

// Count returns the number of rings counted.
func (r *RingCounter) Count() int { return r.count }

// Ringing reports whether the line is still ringing at now: a ring is on, or the last one ended
// less than StopAfter ago. Once rings were counted and this turns false the caller gave up.
func (r *RingCounter) Ringing(now time.Time) bool {
	if !r.active {
		return false
	}
	return r.on || now.Sub(r.lastOff) < r.cfg.StopAfter
}

// LastRingEnd returns when the last ring burst ended (zero before the first): caller ID is sent
// in the silence after the first ring (GR-30, and EN 300 659-1 clause 6.1.2 for ring-first
// lines).
func (r *RingCounter) LastRingEnd() time.Time { return r.lastOff }

// Reset forgets all rings.
func (r *RingCounter) Reset() { *r = RingCounter{cfg: r.cfg} }
