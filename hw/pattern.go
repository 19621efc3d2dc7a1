package hw

import (
	"fmt"
	"time"
)

// LED names one of the four status LEDs.
type LED int

// The status LEDs, in panel order.
const (
	LEDReady LED = iota
	LEDCalls
	LEDAlarm
	LEDUplink
	// NumLEDs is the number of status LEDs.
	NumLEDs
)

// String returns the LED's name as the config and the web page spell it.
func (l LED) String() string {
	if l < 0 || l >= NumLEDs {
		return fmt.Sprintf("led(%d)", int(l))
	}
	return [NumLEDs]string{"ready", "calls", "alarm", "uplink"}[l]
}

// PatternKind is the shape of an LED pattern.
type PatternKind uint8

// The pattern shapes; doc.go gives their timings.
const (
	Off PatternKind = iota
	Steady
	Blink
	FastBlink
	Heartbeat
	// Waiting blinks faster as more callers wait: see [WaitingHalfPeriod].
	Waiting
)

// Pattern timings. Every duration is a whole number of [Tick]s, so the panel
// samples each edge exactly on a tick.
const (
	// Tick is how often the panel goroutine samples the patterns. 25 ms keeps
	// the LED edges within a human's flicker threshold and costs 40 wake-ups
	// a second.
	Tick = 25 * time.Millisecond
	// BlinkHalf is the on time and the off time of Blink (1 Hz).
	BlinkHalf = 500 * time.Millisecond
	// FastBlinkHalf is the on time and the off time of FastBlink (4 Hz).
	FastBlinkHalf = 125 * time.Millisecond
	// HeartbeatPulse is the length of each of Heartbeat's two flashes and of
	// the gap between them; HeartbeatRest is the dark time after them (1 s cycle).
	HeartbeatPulse = 100 * time.Millisecond
	HeartbeatRest  = 700 * time.Millisecond
)

// MaxWaitingShown is the caller count past which the Waiting pattern stops
// getting faster.
const MaxWaitingShown = 5

// WaitingHalfPeriod returns the on time (and the equal off time) of the
// Waiting pattern for n waiting callers: 500, 350, 250, 175 and 125 ms for
// 1, 2, 3, 4 and 5-or-more callers.
func WaitingHalfPeriod(n int) time.Duration {
	switch {
	case n <= 1:
		return 500 * time.Millisecond
	case n == 2:
		return 350 * time.Millisecond
	case n == 3:
		return 250 * time.Millisecond
	case n == 4:
		return 175 * time.Millisecond
	}
	return 125 * time.Millisecond
}

// Pattern is what one LED shows. Patterns are comparable: the panel restarts
// a pattern from its first "on" only when it changes.
type Pattern struct {
	Kind PatternKind
	// Callers is the waiting count for Kind == Waiting, clamped to
	// 1..MaxWaitingShown; zero otherwise.
	Callers int
}

// WaitingPattern returns the Waiting pattern for n callers (n >= 1).
func WaitingPattern(n int) Pattern {
	n = max(1, min(n, MaxWaitingShown))
	return Pattern{Kind: Waiting, Callers: n}
}

// Cycle returns the pattern's repeating on/off durations, starting with an
// "on" segment; nil for Off and Steady, which never change.
func (p Pattern) Cycle() []time.Duration {
	switch p.Kind {
	case Blink:
		return []time.Duration{BlinkHalf, BlinkHalf}
	case FastBlink:
		return []time.Duration{FastBlinkHalf, FastBlinkHalf}
	case Heartbeat:
		return []time.Duration{HeartbeatPulse, HeartbeatPulse, HeartbeatPulse, HeartbeatRest}
	case Waiting:
		h := WaitingHalfPeriod(p.Callers)
		return []time.Duration{h, h}
	}
	return nil
}

// Lit reports whether the LED is on at elapsed time into the pattern.
func (p Pattern) Lit(elapsed time.Duration) bool {
	switch p.Kind {
	case Off:
		return false
	case Steady:
		return true
	}
	cycle := p.Cycle()
	var period time.Duration
	for _, d := range cycle {
		period += d
	}
	if elapsed < 0 {
		elapsed = 0
	}
	t := elapsed % period
	for i, d := range cycle {
		if t < d {
			return i%2 == 0
		}
		t -= d
	}
	return false // not reached: t < period
}

// String names the pattern: "off", "steady", "blink", "fast_blink",
// "heartbeat" or "waiting(N)".
func (p Pattern) String() string {
	switch p.Kind {
	case Off:
		return "off"
	case Steady:
		return "steady"
	case Blink:
		return "blink"
	case FastBlink:
		return "fast_blink"
	case Heartbeat:
		return "heartbeat"
	case Waiting:
		return fmt.Sprintf("waiting(%d)", p.Callers)
	}
	return fmt.Sprintf("pattern(%d)", p.Kind)
}

// Patterns maps the appliance's state to each LED's pattern. doc.go holds
// the same table for people; keep the two in step.
func Patterns(s State) [NumLEDs]Pattern {
	var p [NumLEDs]Pattern

	switch {
	case !s.Ready:
		p[LEDReady] = Pattern{Kind: Blink}
	case s.Night:
		p[LEDReady] = Pattern{Kind: Heartbeat}
	default:
		p[LEDReady] = Pattern{Kind: Steady}
	}

	switch {
	case s.Waiting > 0:
		p[LEDCalls] = WaitingPattern(s.Waiting)
	case s.InProgress > 0:
		p[LEDCalls] = Pattern{Kind: Steady}
	default:
		p[LEDCalls] = Pattern{Kind: Off}
	}

	switch {
	case s.Unacknowledged() != 0:
		p[LEDAlarm] = Pattern{Kind: FastBlink}
	case s.Alarms != 0:
		p[LEDAlarm] = Pattern{Kind: Steady}
	default:
		p[LEDAlarm] = Pattern{Kind: Off}
	}

	switch s.Uplink {
	case UplinkOnline:
		p[LEDUplink] = Pattern{Kind: Steady}
	case UplinkBacklogged:
		p[LEDUplink] = Pattern{Kind: Blink}
	case UplinkOffline:
		p[LEDUplink] = Pattern{Kind: FastBlink}
	default:
		p[LEDUplink] = Pattern{Kind: Off}
	}
	return p
}
