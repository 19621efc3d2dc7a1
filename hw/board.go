package hw

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"
)

// PinConfig names one GPIO line and its polarity, as the caller's config
// gives them. An empty Name means nothing is wired there.
type PinConfig struct {
	// Name is the line's name in periph.io's gpioreg: "GPIO17" on a
	// Raspberry Pi, or a gpiochip line name.
	Name string
	// ActiveLow is true when the line is low for "on" (LED) or "pressed"
	// (button).
	ActiveLow bool
}

// Config is the wiring of the status panel. hw declares it so that it need
// not import edge/config; the caller copies its config keys into it.
type Config struct {
	Ready, Calls, Alarm, Uplink PinConfig
	Button                      PinConfig
}

// LED returns the pin config of LED l.
func (c Config) LED(l LED) PinConfig {
	switch l {
	case LEDReady:
		return c.Ready
	case LEDCalls:
		return c.Calls
	case LEDAlarm:
		return c.Alarm
	case LEDUplink:
		return c.Uplink
	}
	return PinConfig{}
}

// Board is the set of lines the panel and the button run on.
type Board struct {
	LEDs [NumLEDs]Output
	// Button is nil when no button is configured.
	Button PinIn
	// Simulated is true for [SimulatedBoard].
	Simulated bool
}

// OpenGPIO initialises periph.io's host drivers and looks up every
// configured line by name. Where this machine has no GPIO (no driver, or no
// line by that name) it returns an error wrapping [ErrNoGPIO] that names the
// pin; the caller then falls back to [SimulatedBoard].
func OpenGPIO(cfg Config) (Board, error) {
	if _, err := host.Init(); err != nil {
		return Board{}, fmt.Errorf("%w: periph.io host init: %w", ErrNoGPIO, err)
	}
	var b Board
	for l := range NumLEDs {
		pc := cfg.LED(l)
		if pc.Name == "" {
			continue
		}
		p := gpioreg.ByName(pc.Name)
		if p == nil {
			return Board{}, fmt.Errorf("%w: no GPIO line %q for leds.%s.pin", ErrNoGPIO, pc.Name, l)
		}
		b.LEDs[l] = Output{Pin: p, ActiveLow: pc.ActiveLow}
	}
	if cfg.Button.Name != "" {
		p := gpioreg.ByName(cfg.Button.Name)
		if p == nil {
			return Board{}, fmt.Errorf("%w: no GPIO line %q for button.pin", ErrNoGPIO, cfg.Button.Name)
		}
		b.Button = p
	}
	return b, nil
}

// SimulatedBoard returns a board without GPIO: each LED line is a [SimPin]
// that logs its level changes at debug level (the panel itself logs every
// pattern change at info level), and the button is a [SimButton] that
// nobody presses unless the caller (a web page, a test) calls its Press.
func SimulatedBoard(cfg Config, logger *slog.Logger) Board {
	b := Board{Simulated: true}
	for l := range NumLEDs {
		pc := cfg.LED(l)
		name := pc.Name
		if name == "" {
			name = "sim-" + l.String()
		}
		b.LEDs[l] = Output{Pin: NewSimPin(name, logger), ActiveLow: pc.ActiveLow}
	}
	b.Button = NewSimButton(cfg.Button.ActiveLow)
	return b
}

// SimPin is an LED line that exists only in memory and the log.
type SimPin struct {
	name string
	log  *slog.Logger

	mu    sync.Mutex
	level gpio.Level
}

// NewSimPin returns a simulated output line, initially low.
func NewSimPin(name string, logger *slog.Logger) *SimPin {
	return &SimPin{name: name, log: logger}
}

// Out sets the line's level and logs it.
func (p *SimPin) Out(l gpio.Level) error {
	p.mu.Lock()
	p.level = l
	p.mu.Unlock()
	p.log.Debug("simulated gpio", "pin", p.name, "level", l.String())
	return nil
}

// Level returns the line's level.
func (p *SimPin) Level() gpio.Level {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.level
}

// String returns the line's name.
func (p *SimPin) String() string { return p.name }

// SimButton is a push button that exists only in memory: Press and Release
// change its level and wake a waiting [Button.Run].
type SimButton struct {
	activeLow bool
	edges     chan struct{}

	mu    sync.Mutex
	level gpio.Level
}

// NewSimButton returns a released simulated button.
func NewSimButton(activeLow bool) *SimButton {
	return &SimButton{activeLow: activeLow, edges: make(chan struct{}, 1), level: level(false, activeLow)}
}

// Press puts the button down.
func (b *SimButton) Press() { b.set(true) }

// Release lets the button up.
func (b *SimButton) Release() { b.set(false) }

func (b *SimButton) set(pressed bool) {
	b.mu.Lock()
	b.level = level(pressed, b.activeLow)
	b.mu.Unlock()
	select {
	case b.edges <- struct{}{}:
	default: // an edge is already pending
	}
}

// In implements [PinIn]; the simulated button always has edge detection.
func (b *SimButton) In(gpio.Pull, gpio.Edge) error { return nil }

// Read implements [PinIn].
func (b *SimButton) Read() gpio.Level {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.level
}

// WaitForEdge implements [PinIn]; it waits at most timeout (real time).
func (b *SimButton) WaitForEdge(timeout time.Duration) bool {
	t := time.NewTimer(max(timeout, 0))
	defer t.Stop()
	select {
	case <-b.edges:
		return true
	case <-t.C:
		return false
	}
}
