package hw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"
)

// FXO line defaults.
const (
	// DefaultFXORingHold: an opto-coupler ring detector conducts on one half of each 16-25 Hz
	// ringing cycle, so its edges come 40-62 ms apart during a ring; ringing is over when no edge
	// came for 150 ms (well inside the shortest gap of a UK double ring, 200 ms).
	DefaultFXORingHold = 150 * time.Millisecond
	// DefaultFXOPoll bounds each WaitForEdge, so the watchers notice Close and a ring's end within
	// 20 ms (one audio frame).
	DefaultFXOPoll = 20 * time.Millisecond
	// DefaultFXONoAudio: no audio from the sound device for this long means it is gone.
	DefaultFXONoAudio = 2 * time.Second
	// fxoRate is the line's rate: narrowband telephony.
	fxoRate = 8000
	// fxoBuffer: one second of device-rate audio each way absorbs scheduling hiccups.
	fxoBuffer = time.Second
)

// ErrNoCgo is returned where an analog line is asked of a ringside built without cgo: malgo
// (miniaudio) needs it. The daemon refuses a config with an FXO port with this message.
var ErrNoCgo = errors.New("analog lines need a cgo build of ringside (CGO_ENABLED=1)")

// ErrNoAudio means the FXO line's sound device delivered no audio for DefaultFXONoAudio.
var ErrNoAudio = errors.New("hw: FXO sound device delivers no audio")

// FXOConfig is the wiring of one USB FXO / line interface: its sound device and its pins.
type FXOConfig struct {
	// Ring is the ring-detector input; RingActiveLow when it pulls low during ringing (the usual
	// opto-coupler to ground).
	Ring          PinIn
	RingActiveLow bool
	// Hook drives the hook relay; HookActiveLow when the relay closes (off hook) on a low level.
	Hook          gpio.PinOut
	HookActiveLow bool
	// Polarity, optional, is a polarity-reversal detector: every edge is a reversal.
	Polarity PinIn
	// Loop, optional, is a loop-current detector: active while current flows.
	Loop          PinIn
	LoopActiveLow bool
	// Device is a substring of the sound device's name ("" takes the default device).
	Device string
	// DeviceRate is the rate the sound device is opened at. 0 or 8000 asks the device for 8 kHz
	// (miniaudio converts when the hardware cannot); any other rate (48000, 44100) opens the
	// device at that rate and resamples with Resampler.
	DeviceRate int
	// NullDevice opens miniaudio's null backend instead of a sound card (tests, CI).
	NullDevice bool
	RingHold   time.Duration
}

// fxoAudio is the sound side of a line, opened by the cgo build (malgo).
type fxoAudio interface {
	rate() int
	close() error
}

// FXOLine is one analog line through a USB FXO interface. It has the method set package
// telephony/fxo consumes (ReadFrame, WriteFrame, SetHook, Ringing, Reversals, LoopCurrent),
// written with standard types only so hw need not import telephony.
type FXOLine struct {
	cfg   FXOConfig
	clock Clock
	log   *slog.Logger
	audio fxoAudio
	in    *sampleRing // device rate, from the line (filled by the audio callback)
	out   *sampleRing // device rate, toward the line (drained by the audio callback)

	// Owned by ReadFrame's caller.
	down    *Resampler // device -> 8 kHz; nil at 8 kHz
	raw     []int16
	pending []int16
	// Owned by WriteFrame's caller.
	wmu  sync.Mutex
	up   *Resampler // 8 kHz -> device
	wbuf []int16

	mu        sync.Mutex
	ringing   bool
	ringSince time.Time
	reversals int
	lastRev   time.Time
	loop      bool
	loopSince time.Time

	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// FXOSupported reports whether this build can drive analog lines: nil with cgo, ErrNoCgo
// without. The daemon calls it when the config has an FXO port.
func FXOSupported() error { return fxoSupported() }

// OpenFXOLine opens the sound device, sets the pins (hook on hook first) and starts watching
// the ring, polarity and loop pins. Close releases it all.
func OpenFXOLine(cfg FXOConfig, clock Clock, log *slog.Logger) (*FXOLine, error) {
	if cfg.Ring == nil || cfg.Hook == nil {
		return nil, fmt.Errorf("%w: fxo: ring and hook pins are required", ErrConfig)
	}
	if cfg.DeviceRate == 0 {
		cfg.DeviceRate = fxoRate
	}
	if cfg.DeviceRate < fxoRate || cfg.DeviceRate > 192000 {
		return nil, fmt.Errorf("%w: fxo: device_rate %d: want 8000 to 192000", ErrConfig, cfg.DeviceRate)
	}
	if cfg.RingHold == 0 {
		cfg.RingHold = DefaultFXORingHold
	}
	l := &FXOLine{cfg: cfg, clock: clock, log: log, stop: make(chan struct{})}
	l.loop = true // without a loop detector the loop is assumed to carry current
	if err := l.SetHook(false); err != nil {
		return nil, err
	}
	if err := cfg.Ring.In(pull(cfg.RingActiveLow), gpio.BothEdges); err != nil {
		return nil, fmt.Errorf("hw: fxo ring pin: %w", err)
	}
	if cfg.Polarity != nil {
		if err := cfg.Polarity.In(gpio.PullNoChange, gpio.BothEdges); err != nil {
			return nil, fmt.Errorf("hw: fxo polarity pin: %w", err)
		}
	}
	if cfg.Loop != nil {
		if err := cfg.Loop.In(pull(cfg.LoopActiveLow), gpio.BothEdges); err != nil {
			return nil, fmt.Errorf("hw: fxo loop pin: %w", err)
		}
	}
	frames := int(fxoBuffer.Seconds() * float64(cfg.DeviceRate))
	l.in, l.out = newSampleRing(frames), newSampleRing(frames)
	a, err := openFXOAudio(cfg, l.in, l.out, log)
	if err != nil {
		return nil, err
	}
	l.audio = a
	if r := a.rate(); r != fxoRate {
		l.down, l.up = NewResampler(r, fxoRate), NewResampler(fxoRate, r)
	}
	l.wg.Go(l.watchRing)
	if cfg.Polarity != nil {
		l.wg.Go(l.watchPolarity)
	}
	if cfg.Loop != nil {
		l.wg.Go(l.watchLoop)
	}
	return l, nil
}

func pull(activeLow bool) gpio.Pull {
	if activeLow {
		return gpio.PullUp
	}
	return gpio.PullDown
}

func active(l gpio.Level, activeLow bool) bool { return bool(l) != activeLow }

// Close stops the watchers, puts the line on hook and closes the sound device.
func (l *FXOLine) Close() error {
	var err error
	l.once.Do(func() {
		close(l.stop)
		l.wg.Wait()
		err = errors.Join(l.SetHook(false), l.audio.close())
	})
	return err
}

// Rate is the sound device's rate.
func (l *FXOLine) Rate() int { return l.audio.rate() }

// Dropped returns how many device-rate samples were lost because a buffer was full (capture)
// or empty (playback underruns are silence and not counted).
func (l *FXOLine) Dropped() uint64 { return l.in.dropped.Load() + l.out.dropped.Load() }

func (l *FXOLine) stopped() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

// ReadFrame fills dst with the next len(dst) samples of line audio at 8 kHz. It waits (polling
// every 5 ms, so the audio callback never has to signal anyone) until they are there, ctx ends,
// or DefaultFXONoAudio passes without audio.
func (l *FXOLine) ReadFrame(ctx context.Context, dst []int16) error {
	deadline := time.Now().Add(DefaultFXONoAudio)
	for len(l.pending) < len(dst) {
		if l.in.len() > 0 {
			if cap(l.raw) == 0 {
				l.raw = make([]int16, 1024)
			}
			n := l.in.read(l.raw[:cap(l.raw)])
			if l.down != nil {
				l.pending = l.down.Process(l.pending, l.raw[:n])
			} else {
				l.pending = append(l.pending, l.raw[:n]...)
			}
			deadline = time.Now().Add(DefaultFXONoAudio)
			continue
		}
		if l.stopped() {
			return fmt.Errorf("hw: fxo line closed: %w", ErrNoAudio)
		}
		if time.Now().After(deadline) {
			return ErrNoAudio
		}
		t := time.NewTimer(5 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	copy(dst, l.pending)
	l.pending = append(l.pending[:0], l.pending[len(dst):]...)
	return nil
}

// WriteFrame queues 8 kHz audio toward the line; what does not fit is dropped.
func (l *FXOLine) WriteFrame(src []int16) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if l.up == nil {
		l.out.write(src)
		return nil
	}
	l.wbuf = l.up.Process(l.wbuf[:0], src)
	l.out.write(l.wbuf)
	return nil
}

// SetHook drives the hook relay: off hook (true) closes the loop.
func (l *FXOLine) SetHook(offHook bool) error {
	level := gpio.Level(offHook != l.cfg.HookActiveLow)
	if err := l.cfg.Hook.Out(level); err != nil {
		return fmt.Errorf("hw: fxo hook relay: %w", err)
	}
	return nil
}

// Ringing reports whether ringing voltage is on the line, and since when.
func (l *FXOLine) Ringing() (bool, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ringing, l.ringSince
}

// Reversals returns the polarity reversals seen (always 0 without a polarity pin).
func (l *FXOLine) Reversals() (int, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reversals, l.lastRev
}

// LoopCurrent reports whether loop current flows (always true without a loop pin).
func (l *FXOLine) LoopCurrent() (bool, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.loop, l.loopSince
}

// watchRing turns ring-detector edges into ring bursts: ringing starts at the first edge or
// active level and ends RingHold after the last sign of it (the end time is that last sign).
func (l *FXOLine) watchRing() {
	var last time.Time
	for !l.stopped() {
		edge := l.cfg.Ring.WaitForEdge(DefaultFXOPoll)
		now := l.clock.Now()
		on := active(l.cfg.Ring.Read(), l.cfg.RingActiveLow)
		l.mu.Lock()
		if edge || on {
			last = now
			if !l.ringing {
				l.ringing, l.ringSince = true, now
			}
		} else if l.ringing && now.Sub(last) >= l.cfg.RingHold {
			l.ringing, l.ringSince = false, last
		}
		l.mu.Unlock()
	}
}

func (l *FXOLine) watchPolarity() {
	for !l.stopped() {
		if l.cfg.Polarity.WaitForEdge(DefaultFXOPoll) {
			now := l.clock.Now()
			l.mu.Lock()
			l.reversals++
			l.lastRev = now
			l.mu.Unlock()
		}
	}
}

func (l *FXOLine) watchLoop() {
	for !l.stopped() {
		l.cfg.Loop.WaitForEdge(DefaultFXOPoll)
		now := l.clock.Now()
		on := active(l.cfg.Loop.Read(), l.cfg.LoopActiveLow)
		l.mu.Lock()
		if on != l.loop {
			l.loop, l.loopSince = on, now
		}
		l.mu.Unlock()
	}
}

// FXOPins looks up an FXO port's ring-detector input and hook-relay output by their GPIO line
// names (periph.io's gpioreg, after host.Init). It returns an error wrapping ErrNoGPIO that names
// the pin when this machine has no such line.
func FXOPins(ring, hook string) (PinIn, gpio.PinOut, error) {
	if _, err := host.Init(); err != nil {
		return nil, nil, fmt.Errorf("%w: periph.io host init: %w", ErrNoGPIO, err)
	}
	r := gpioreg.ByName(ring)
	if r == nil {
		return nil, nil, fmt.Errorf("%w: no GPIO line %q for the ring detector", ErrNoGPIO, ring)
	}
	h := gpioreg.ByName(hook)
	if h == nil {
		return nil, nil, fmt.Errorf("%w: no GPIO line %q for the hook relay", ErrNoGPIO, hook)
	}
	return r, h, nil
}
