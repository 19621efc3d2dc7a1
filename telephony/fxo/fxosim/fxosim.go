// Package fxosim is a simulated analog line for package fxo, where there is no line interface:
// a script of ring bursts, polarity reversals, loop-current drops and line audio (generated
// tones, caller-ID signals from package callerid, WAV files) plays out frame by frame, and what
// the port does (hook changes, the audio it sends toward the caller) is recorded for tests and
// for `ringside demo`.
//
// The line keeps its own clock, advanced 20 ms per frame from its start: use it as the port's
// Clock so ring and caller-ID timestamps are exact. With Realtime set the frames are paced by the
// wall clock (needed when a real SIP peer is involved); without it a script runs as fast as the
// port reads it (benchmarks).
package fxosim

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ringside/ringside/telephony/callerid"
	"github.com/ringside/ringside/telephony/dsp"
	"github.com/ringside/ringside/telephony/g711"
	"github.com/ringside/ringside/telephony/media"
)

// FrameSamples is one 20 ms frame at 8 kHz.
const FrameSamples = dsp.SampleRate / 50

const frame = 20 * time.Millisecond

// DefaultWaitHook bounds a WaitOffHook or WaitOnHook step.
const DefaultWaitHook = 30 * time.Second

// maxReceived bounds the audio the line keeps from the port: 2 minutes.
const maxReceived = 120 * dsp.SampleRate

// Step is one element of a script; exactly one of its fields is set.
type Step struct {
	Ring        time.Duration // ringing voltage for this long (the line's audio is silent meanwhile)
	Silence     time.Duration
	Audio       []int16 // line audio, 8 kHz
	Reversal    bool    // a polarity reversal, instantly
	LoopDrop    bool    // loop current stops (the exchange's open-loop disconnect), instantly
	WaitOffHook bool    // silence until the port goes off hook (at most DefaultWaitHook)
	WaitOnHook  bool    // silence until the port goes on hook (at most DefaultWaitHook)
	// RingUntilAnswer rings with this cadence until the port goes off hook (at most MaxRings
	// rings); the ringing stops the moment it does, as an exchange's ring trip does.
	RingUntilAnswer *Cadence
}

// MaxRings bounds a RingUntilAnswer step.
const MaxRings = 10

// HookChange is one SetHook call that changed the hook state.
type HookChange struct {
	OffHook bool
	At      time.Time
}

// Line is a simulated FXO line; it implements fxo.Line, fxo.PolarityReporter and
// fxo.LoopCurrentReporter.
type Line struct {
	realtime bool
	start    time.Time

	mu        sync.Mutex
	script    []Step
	step      int
	offset    int // samples (or frames for waits) into the current step
	frames    int64
	ringOn    bool
	ringSince time.Time
	reversals int
	lastRev   time.Time
	loop      bool
	loopSince time.Time
	offHook   bool
	hooks     []HookChange
	received  []int16
	done      chan struct{}
	doneOnce  sync.Once
	ticker    *time.Ticker
	next      time.Time
}

// New returns a line that plays script. start is the line clock's origin (use time.Now() with
// Realtime).
func New(script []Step, start time.Time, realtime bool) *Line {
	return &Line{script: script, start: start, realtime: realtime, done: make(chan struct{})}
}

// Now is the line's clock: its start plus 20 ms per frame read.
func (l *Line) Now() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.now()
}

func (l *Line) now() time.Time { return l.start.Add(time.Duration(l.frames) * frame) }

// Done is closed when the script has played out (the line then stays silent).
func (l *Line) Done() <-chan struct{} { return l.done }

// Hooks returns the hook changes so far.
func (l *Line) Hooks() []HookChange {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]HookChange(nil), l.hooks...)
}

// Received returns the audio the port sent toward the line (at most the last two minutes).
func (l *Line) Received() []int16 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int16(nil), l.received...)
}

// ReadFrame implements fxo.Line.
func (l *Line) ReadFrame(ctx context.Context, dst []int16) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if l.realtime {
		l.mu.Lock()
		if l.next.IsZero() {
			l.next = time.Now()
		}
		l.next = l.next.Add(frame)
		wait := time.Until(l.next)
		l.mu.Unlock()
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(dst)
	l.play(dst)
	l.frames++
	return nil
}

// play fills dst from the script, running instant steps as it meets them.
func (l *Line) play(dst []int16) {
	for filled := 0; filled < len(dst); {
		if l.step >= len(l.script) {
			l.doneOnce.Do(func() { close(l.done) })
			return
		}
		s := &l.script[l.step]
		now := l.start.Add(time.Duration(l.frames)*frame + dsp.Duration(int64(filled)))
		switch {
		case s.Reversal:
			l.reversals++
			l.lastRev = now
			l.advance()
		case s.LoopDrop:
			l.loop, l.loopSince = false, now
			l.advance()
		case s.WaitOffHook || s.WaitOnHook:
			if l.offHook == s.WaitOffHook || l.offset >= int(DefaultWaitHook/frame) {
				l.advance()
				continue
			}
			l.offset++
			return // one frame of silence
		case s.RingUntilAnswer != nil:
			segs := s.RingUntilAnswer.segments()
			cycle := 0
			for _, g := range segs {
				cycle += g
			}
			if l.offHook || cycle == 0 || l.offset >= MaxRings*cycle {
				if l.ringOn {
					l.ringOn, l.ringSince = false, now
				}
				l.advance()
				continue
			}
			pos, on := l.offset%cycle, false
			for i, g := range segs {
				if pos < g {
					on = i%2 == 0 && i < len(segs)-1
					n := min(len(dst)-filled, g-pos)
					if on != l.ringOn {
						l.ringOn, l.ringSince = on, now
					}
					l.offset += n
					filled += n
					break
				}
				pos -= g
			}
		case s.Ring > 0:
			if l.offset == 0 {
				l.ringOn, l.ringSince = true, now
			}
			n := min(len(dst)-filled, dsp.Samples(s.Ring)-l.offset)
			l.offset += n
			filled += n
			if l.offset >= dsp.Samples(s.Ring) {
				l.ringOn, l.ringSince = false, l.start.Add(time.Duration(l.frames)*frame+dsp.Duration(int64(filled)))
				l.advance()
			}
		case s.Silence > 0 || len(s.Audio) > 0:
			total := dsp.Samples(s.Silence)
			if len(s.Audio) > 0 {
				total = len(s.Audio)
			}
			n := min(len(dst)-filled, total-l.offset)
			if len(s.Audio) > 0 {
				copy(dst[filled:filled+n], s.Audio[l.offset:l.offset+n])
			}
			l.offset += n
			filled += n
			if l.offset >= total {
				l.advance()
			}
		default:
			l.advance() // an empty step
		}
	}
}

func (l *Line) advance() { l.step, l.offset = l.step+1, 0 }

// WriteFrame implements fxo.Line: the audio is kept for Received.
func (l *Line) WriteFrame(src []int16) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.offHook {
		return nil // on hook, nothing reaches the line
	}
	l.received = append(l.received, src...)
	if over := len(l.received) - maxReceived; over > 0 {
		l.received = append(l.received[:0], l.received[over:]...)
	}
	return nil
}

// SetHook implements fxo.Line.
func (l *Line) SetHook(offHook bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if offHook == l.offHook {
		return nil
	}
	now := l.now()
	l.offHook = offHook
	l.hooks = append(l.hooks, HookChange{OffHook: offHook, At: now})
	if offHook {
		l.loop, l.loopSince = true, now
	} else {
		l.loop, l.loopSince = false, now
	}
	return nil
}

// Ringing implements fxo.Line.
func (l *Line) Ringing() (bool, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ringOn, l.ringSince
}

// Reversals implements fxo.PolarityReporter.
func (l *Line) Reversals() (int, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reversals, l.lastRev
}

// LoopCurrent implements fxo.LoopCurrentReporter.
func (l *Line) LoopCurrent() (bool, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.loop, l.loopSince
}

// Cadence is a country's ringing cadence: the burst pattern (bursts and the gaps inside one ring,
// e.g. the UK double ring) and the silence after it.
type Cadence struct {
	Bursts []time.Duration // on, off, on, ... (odd length)
	Pause  time.Duration
}

// RingCadence returns the ringing cadence of a country (ISO 3166-1), from ITU-T E.180
// Supplement 2: US 2 s on 4 s off; GB 0.4 on 0.2 off 0.4 on 2 s off; DE 1 s on 4 s off;
// FR 1.5 s on 3.5 s off.
func RingCadence(country string) (Cadence, error) {
	ms := func(v int) time.Duration { return time.Duration(v) * time.Millisecond }
	switch country {
	case "US", "CA":
		return Cadence{Bursts: []time.Duration{ms(2000)}, Pause: ms(4000)}, nil
	case "GB", "UK":
		return Cadence{Bursts: []time.Duration{ms(400), ms(200), ms(400)}, Pause: ms(2000)}, nil
	case "DE":
		return Cadence{Bursts: []time.Duration{ms(1000)}, Pause: ms(4000)}, nil
	case "FR":
		return Cadence{Bursts: []time.Duration{ms(1500)}, Pause: ms(3500)}, nil
	}
	return Cadence{}, fmt.Errorf("fxosim: no ring cadence for %q: %w", country, dsp.ErrUnknownCountry)
}

// segments returns the cadence in samples: bursts (on, off, on ...) then the pause.
func (c Cadence) segments() []int {
	var out []int
	for _, d := range c.Bursts {
		out = append(out, dsp.Samples(d))
	}
	return append(out, dsp.Samples(c.Pause))
}

// ring appends one ring (its bursts) to s.
func (c Cadence) ring(s []Step) []Step {
	for i, d := range c.Bursts {
		if i%2 == 0 {
			s = append(s, Step{Ring: d})
		} else {
			s = append(s, Step{Silence: d})
		}
	}
	return s
}

// Call describes a simulated incoming call for Script.
type Call struct {
	Cadence  Cadence
	Standard callerid.Standard
	Caller   callerid.Result // the identity the exchange sends (zero: none is sent)
	MDMF     bool            // Bell 202: send MDMF (with the name) rather than SDMF
	Reversal bool            // V.23: reversal-first (reversal, alert-free caller ID, then the first ring)
	// Talk is what the caller says once the line answers (nil: a 2 s 440 Hz tone at -15 dBm0).
	Talk []int16
	// Hangup is the country whose busy tone (3 cycles) ends the call; "" ends with a loop-current
	// drop instead.
	Hangup string
}

// Script builds the script of one incoming call: rings with the caller ID where its standard
// puts it, ringing until the port answers (at most ten rings), the caller's audio, then the busy
// tone of the exchange after the caller hangs up.
func Script(c Call) ([]Step, error) {
	if len(c.Cadence.Bursts) == 0 {
		return nil, errors.New("fxosim: a call needs a ring cadence")
	}
	var cid []int16
	if c.Caller != (callerid.Result{}) {
		var err error
		switch c.Standard {
		case callerid.DTMF:
			cid, err = callerid.DTMFSignal(c.Caller, -10)
		case callerid.Bell202, callerid.V23:
			var fr []byte
			if c.MDMF || c.Standard == callerid.V23 {
				fr, err = callerid.EncodeMDMF(c.Caller)
			} else {
				fr, err = callerid.EncodeSDMF(c.Caller)
			}
			if err == nil {
				seizure := callerid.SeizureBits
				if c.Standard == callerid.V23 && c.Reversal {
					seizure = 0
				}
				cid, err = callerid.FSKSignal(c.Standard, fr, seizure, callerid.MarkBits, callerid.DefaultLevelDBm0)
			}
		default:
			err = fmt.Errorf("fxosim: caller-ID standard %v: %w", c.Standard, callerid.ErrStandard)
		}
		if err != nil {
			return nil, err
		}
	}
	var s []Step
	before := c.Standard == callerid.DTMF || (c.Standard == callerid.V23 && c.Reversal)
	if cid != nil && before {
		if c.Reversal {
			s = append(s, Step{Reversal: true})
		}
		s = append(s, Step{Silence: 300 * time.Millisecond}, Step{Audio: cid}, Step{Silence: 500 * time.Millisecond})
	}
	// The first ring, then caller ID in the pause (ring-first), then rings until answered.
	s = c.Cadence.ring(s)
	pause := c.Cadence.Pause
	if cid != nil && !before {
		// GR-30 section 3.2: the data starts at least 500 ms after the first ring ends.
		lead := 500 * time.Millisecond
		s = append(s, Step{Silence: lead}, Step{Audio: cid})
		pause -= lead + dsp.Duration(int64(len(cid)))
		if pause < 200*time.Millisecond {
			pause = 200 * time.Millisecond
		}
	}
	s = append(s, Step{Silence: pause})
	cad := c.Cadence
	s = append(s, Step{RingUntilAnswer: &cad})
	talk := c.Talk
	if talk == nil {
		talk = dsp.AppendTone(nil, []float64{440}, -15, 2*time.Second)
	}
	s = append(s, Step{Silence: 300 * time.Millisecond}, Step{Audio: talk}, Step{Silence: 300 * time.Millisecond})
	if c.Hangup == "" {
		return append(s, Step{LoopDrop: true}, Step{WaitOnHook: true}), nil
	}
	country, err := dsp.LookupCountry(c.Hangup)
	if err != nil {
		return nil, err
	}
	for _, t := range country.Tones {
		if t.Kind == dsp.BusyTone {
			s = append(s, Step{Audio: dsp.AppendProgressTone(nil, t, 3, -15)})
		}
	}
	return append(s, Step{WaitOnHook: true}), nil
}

// LoadWAV reads an 8 kHz mono WAV file (16-bit PCM, mu-law or A-law) as line audio, for a
// script's Audio step. The samples pass through mu-law, as they would on a digital exchange.
func LoadWAV(path string) ([]int16, error) {
	c, err := media.LoadWAV(path)
	if err != nil {
		return nil, fmt.Errorf("fxosim: %w", err)
	}
	return g711.PCMU.Decode(nil, c.Bytes(g711.PCMU)), nil
}
