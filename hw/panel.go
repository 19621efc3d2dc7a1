package hw

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// PinOut is the part of periph's gpio.PinOut an LED needs. Any gpio.PinOut,
// gpiotest.Pin and [SimPin] satisfy it.
type PinOut interface {
	Out(l gpio.Level) error
}

// Output is one LED's line.
type Output struct {
	// Pin drives the LED; nil means no LED is fitted there (the panel still
	// computes its pattern for the log and [Panel.Snapshot]).
	Pin PinOut
	// ActiveLow is true when the LED lights with the line low (LED wired
	// from 3.3 V to the pin).
	ActiveLow bool
}

// LEDStatus is what one LED shows, for the web page and the log.
type LEDStatus struct {
	LED     string    `json:"led"`
	Pattern string    `json:"pattern"`
	Lit     bool      `json:"lit"`
	Since   time.Time `json:"since"` // when the pattern started
}

// Panel drives the status LEDs from the appliance's [State]. One goroutine,
// [Panel.Run], owns the pins; [Panel.Set] and [Panel.Snapshot] are safe from
// any goroutine.
type Panel struct {
	leds  [NumLEDs]Output
	clock Clock
	log   *slog.Logger

	mu      sync.Mutex
	pending State
	last    [NumLEDs]LEDStatus // copy for Snapshot once Run has returned

	running atomic.Bool
	snapReq chan chan [NumLEDs]LEDStatus
	stopped chan struct{}

	// Owned by the Run goroutine.
	cur [NumLEDs]ledState
}

type ledState struct {
	pattern Pattern
	since   time.Time
	lit     bool
	written bool // the pin holds lit's level
	failing bool // the last write failed (logged once per streak)
}

// NewPanel returns a panel for the LEDs in [LED] order. It touches no pin
// until Run.
func NewPanel(leds [NumLEDs]Output, clock Clock, logger *slog.Logger) *Panel {
	p := &Panel{
		leds:    leds,
		clock:   clock,
		log:     logger,
		snapReq: make(chan chan [NumLEDs]LEDStatus),
		stopped: make(chan struct{}),
	}
	for i := range p.last {
		p.last[i] = LEDStatus{LED: LED(i).String(), Pattern: Pattern{}.String()}
	}
	return p
}

// Set hands the panel the appliance's current state. It never blocks: the
// panel shows the newest state from its next tick (within [Tick]).
func (p *Panel) Set(s State) {
	p.mu.Lock()
	p.pending = s
	p.mu.Unlock()
}

// Snapshot returns what each LED shows, in [LED] order. While Run is going it
// asks the Run goroutine, so every tick received before the call is in the
// answer.
func (p *Panel) Snapshot() []LEDStatus {
	if p.running.Load() {
		reply := make(chan [NumLEDs]LEDStatus, 1)
		select {
		case p.snapReq <- reply:
			s := <-reply
			return s[:]
		case <-p.stopped:
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.last
	return s[:]
}

// Run drives the LEDs until ctx ends, then turns them all off and returns
// nil. Call it once, from the goroutine that will own the pins.
func (p *Panel) Run(ctx context.Context) error {
	if !p.running.CompareAndSwap(false, true) {
		return fmt.Errorf("panel: %w", ErrRunning)
	}
	defer close(p.stopped)
	t := p.clock.NewTicker(Tick)
	defer t.Stop()

	p.apply(p.clock.Now())
	for {
		select {
		case <-ctx.Done():
			p.dark()
			return nil
		case now := <-t.C():
			p.apply(now)
		case reply := <-p.snapReq:
			reply <- p.statuses()
		}
	}
}

// apply shows the newest state at time now.
func (p *Panel) apply(now time.Time) {
	p.mu.Lock()
	s := p.pending
	p.mu.Unlock()

	pats := Patterns(s)
	for i := range p.cur {
		c := &p.cur[i]
		if pats[i] != c.pattern || c.since.IsZero() {
			// Caller counts and alarm names only: no personal data here.
			p.log.Info("led pattern", "led", LED(i).String(), "pattern", pats[i].String(),
				"was", c.pattern.String(), "ready", s.Ready, "night", s.Night,
				"waiting", s.Waiting, "in_progress", s.InProgress,
				"alarms", s.Alarms.String(), "acknowledged", s.Acknowledged.String(),
				"uplink", s.Uplink.String())
			c.pattern = pats[i]
			c.since = now
		}
		p.write(LED(i), pats[i].Lit(now.Sub(c.since)))
	}

	st := p.statuses()
	p.mu.Lock()
	p.last = st
	p.mu.Unlock()
}

// write sets LED l's line to show lit, touching the pin only on a change.
func (p *Panel) write(l LED, lit bool) {
	c := &p.cur[l]
	if c.written && c.lit == lit {
		return
	}
	c.lit = lit
	out := p.leds[l]
	if out.Pin == nil {
		c.written = true
		return
	}
	err := out.Pin.Out(level(lit, out.ActiveLow))
	switch {
	case err != nil && !c.failing:
		p.log.Warn("led write failed", "led", l.String(), "err", err)
		c.failing = true
	case err == nil && c.failing:
		p.log.Info("led write works again", "led", l.String())
		c.failing = false
	}
	c.written = err == nil
}

// dark turns every LED off, so a stopped daemon leaves the panel dark.
func (p *Panel) dark() {
	for i := range p.cur {
		p.cur[i].pattern = Pattern{Kind: Off}
		p.write(LED(i), false)
	}
	st := p.statuses()
	p.mu.Lock()
	p.last = st
	p.mu.Unlock()
}

func (p *Panel) statuses() [NumLEDs]LEDStatus {
	var st [NumLEDs]LEDStatus
	for i, c := range p.cur {
		st[i] = LEDStatus{LED: LED(i).String(), Pattern: c.pattern.String(), Lit: c.lit, Since: c.since}
	}
	return st
}

// level is the line level that shows lit on an LED of the given polarity.
func level(lit, activeLow bool) gpio.Level {
	return gpio.Level(lit != activeLow)
}
