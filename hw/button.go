package hw

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// Button defaults.
const (
	// DefaultDebounce: a level must hold this long before it counts. Cheap
	// tactile switches bounce for 1-10 ms; 30 ms is well clear of that and
	// still feels instant.
	DefaultDebounce = 30 * time.Millisecond
	// DefaultLongPress: holding this long acknowledges the alarm. Two
	// seconds cannot happen by a brush of the hand.
	DefaultLongPress = 2 * time.Second
	// DefaultPoll bounds each edge wait while the button is down or its
	// level is settling, so debounce and long-press times are measured to
	// within 10 ms.
	DefaultPoll = 10 * time.Millisecond
	// DefaultIdle bounds each edge wait while nothing happens: Run notices a
	// cancelled context, and a missed edge, within 250 ms.
	DefaultIdle = 250 * time.Millisecond
)

// PinIn is the part of periph's gpio.PinIn the button needs.
type PinIn interface {
	In(pull gpio.Pull, edge gpio.Edge) error
	Read() gpio.Level
	WaitForEdge(timeout time.Duration) bool
}

// ButtonConfig sets the button's wiring and timings. Zero durations take the
// Default values.
type ButtonConfig struct {
	// ActiveLow is true for a button that pulls the line to ground when
	// pressed; the pin then gets the internal pull-up (else pull-down).
	ActiveLow bool
	Debounce  time.Duration
	LongPress time.Duration
	Poll      time.Duration
	Idle      time.Duration
}

func (c ButtonConfig) withDefaults() (ButtonConfig, error) {
	if c.Debounce == 0 {
		c.Debounce = DefaultDebounce
	}
	if c.LongPress == 0 {
		c.LongPress = DefaultLongPress
	}
	if c.Poll == 0 {
		c.Poll = DefaultPoll
	}
	if c.Idle == 0 {
		c.Idle = DefaultIdle
	}
	switch {
	case c.Debounce < 0 || c.LongPress < 0 || c.Poll < 0 || c.Idle < 0:
		return c, fmt.Errorf("%w: button: negative duration", ErrConfig)
	case c.LongPress <= c.Debounce:
		return c, fmt.Errorf("%w: button.long_press (%s) must be longer than the debounce time (%s)",
			ErrConfig, c.LongPress, c.Debounce)
	}
	return c, nil
}

// Press is what the button reports.
type Press uint8

// The presses.
const (
	// ShortPress: pressed and released before the long-press time. Toggles
	// night mode.
	ShortPress Press = iota + 1
	// LongPress: held for the long-press time. Reported while still held,
	// so the alarm LED turns steady under the finger. Acknowledges the
	// current alarm.
	LongPress
)

// String names the press.
func (p Press) String() string {
	switch p {
	case ShortPress:
		return "short"
	case LongPress:
		return "long"
	}
	return fmt.Sprintf("press(%d)", uint8(p))
}

// Button reads a debounced push button and reports short and long presses.
type Button struct {
	pin     PinIn
	cfg     ButtonConfig
	clock   Clock
	log     *slog.Logger
	onPress func(Press)
	running atomic.Bool
}

// NewButton returns a button on pin. onPress is called from the Run
// goroutine for each press; it must not block (hand the press to your own
// loop).
func NewButton(pin PinIn, cfg ButtonConfig, clock Clock, logger *slog.Logger, onPress func(Press)) (*Button, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if pin == nil {
		return nil, fmt.Errorf("%w: button: nil pin", ErrConfig)
	}
	return &Button{pin: pin, cfg: cfg, clock: clock, log: logger, onPress: onPress}, nil
}

// Run watches the button until ctx ends, then returns nil; it returns an
// error only when the pin cannot be set up as an input. Call it once.
//
// Each wait for an edge is bounded (Poll while the button is down or
// settling, Idle otherwise). Where the driver offers no edge detection Run
// samples the pin every Poll on the clock's ticker instead.
func (b *Button) Run(ctx context.Context) error {
	if !b.running.CompareAndSwap(false, true) {
		return fmt.Errorf("button: %w", ErrRunning)
	}
	pull := gpio.PullDown
	if b.cfg.ActiveLow {
		pull = gpio.PullUp
	}
	edges := true
	if err := b.pin.In(pull, gpio.BothEdges); err != nil {
		if err2 := b.pin.In(pull, gpio.NoEdge); err2 != nil {
			return fmt.Errorf("button: set up input: %w", err2)
		}
		b.log.Info("button: no edge detection, polling", "every", b.cfg.Poll, "err", err)
		edges = false
	}
	var tick <-chan time.Time
	if !edges {
		t := b.clock.NewTicker(b.cfg.Poll)
		defer t.Stop()
		tick = t.C()
	}

	d := newDebouncer(b.cfg.Debounce, b.cfg.LongPress, b.clock.Now(), b.pressed())
	for ctx.Err() == nil {
		if edges {
			wait := b.cfg.Poll
			if d.idle() {
				wait = b.cfg.Idle
			}
			b.pin.WaitForEdge(wait)
		} else {
			select {
			case <-ctx.Done():
				return nil
			case <-tick:
			}
		}
		if p, ok := d.sample(b.clock.Now(), b.pressed()); ok {
			b.log.Info("button press", "press", p.String())
			if b.onPress != nil {
				b.onPress(p)
			}
		}
	}
	return nil
}

func (b *Button) pressed() bool {
	return (b.pin.Read() == gpio.High) != b.cfg.ActiveLow
}

// debouncer turns raw samples of the button into presses. A level counts
// once it has held for debounce; a press held for long is a LongPress
// (reported once, at that moment), a shorter one a ShortPress on release.
type debouncer struct {
	debounce, long time.Duration

	raw      bool      // last sampled level (true = pressed)
	rawSince time.Time // when raw was first seen
	stable   bool      // debounced level

	pressedAt time.Time // when the stable press began (its first raw sample)
	longDone  bool      // a LongPress was reported (or suppressed) for this press
}

// newDebouncer starts from the level sampled at start. A button already
// held at start is ignored until released, so a stuck button never
// acknowledges alarms by itself.
func newDebouncer(debounce, long time.Duration, start time.Time, pressed bool) *debouncer {
	return &debouncer{
		debounce: debounce, long: long,
		raw: pressed, rawSince: start, stable: pressed,
		pressedAt: start, longDone: pressed,
	}
}

// idle reports whether nothing is in progress: the button is up and steady.
func (d *debouncer) idle() bool { return !d.stable && !d.raw }

// sample feeds the level seen at now and returns a press if one completes.
func (d *debouncer) sample(now time.Time, pressed bool) (Press, bool) {
	if pressed != d.raw {
		d.raw = pressed
		d.rawSince = now
	}
	if d.raw != d.stable && now.Sub(d.rawSince) >= d.debounce {
		d.stable = d.raw
		if d.stable {
			d.pressedAt = d.rawSince
			d.longDone = false
		} else if !d.longDone {
			d.longDone = true
			if d.rawSince.Sub(d.pressedAt) >= d.long {
				return LongPress, true // held long, but no sample came in time to say so
			}
			return ShortPress, true
		}
	}
	if d.stable && d.raw && !d.longDone && now.Sub(d.pressedAt) >= d.long {
		d.longDone = true
		return LongPress, true
	}
	return 0, false
}
