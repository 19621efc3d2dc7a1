package fxo

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/emiago/sipgo"

	"github.com/ringside/ringside/telephony/callerid"
	"github.com/ringside/ringside/telephony/dsp"
)

const (
	// reversalGuard ignores polarity reversals and loop-current changes right after going off
	// hook: the loop settles, and some exchanges reverse polarity on answer.
	reversalGuard = 800 * time.Millisecond
	// preRingWindow is how long what comes ahead of the first ring waits for it: a caller-ID
	// window opened by a reversal or an alert, and a caller ID decoded before ringing (DTMF CLIP,
	// V.23 after a reversal). EN 300 659-1 clause 6.1.2 puts the first ring within a few seconds
	// of the end of the pre-ring data, and DTMF CLIP exchanges ring right after the digits; 8 s
	// leaves margin for slow exchanges while a caller ID with no ring after it is dropped long
	// before an unrelated call could take it.
	preRingWindow = 8 * time.Second
)

type state uint8

const (
	stateIdle state = iota
	stateRinging
	stateDialing
	stateInCall
)

// Port is one FXO port's state machine. Run owns all of it.
type Port struct {
	cfg   validated
	line  Line
	sink  EventSink
	log   *slog.Logger
	clock Clock

	ring     *dsp.RingCounter
	fsk      *callerid.FSKDecoder  // Bell202, V23
	dtmf     *callerid.DTMFDecoder // DTMF CLIP
	alert    *dsp.AlertDetector    // V23 reversal-first lines without a reversal detector
	progress *dsp.ProgressDetector
	silence  *dsp.SilenceDetector

	results []callerid.Result
	alerts  []dsp.Alert
	tones   []dsp.ProgressEvent

	// The current attempt.
	st          state
	ringOn      bool
	reversals   int
	firstRing   time.Time
	cidOpen     bool
	cidOpenedAt time.Time
	caller      *callerid.Result
	callerAt    time.Time // when caller was decoded
	offHookAt   time.Time
	loopSeen    bool
	dialCancel  context.CancelFunc
	dialRes     chan dialResult
	call        *legCall

	wg sync.WaitGroup // BYEs and abandoned dials in flight

	// dial places the SIP call; (*leg).dial except in the benchmark, which measures the line
	// without a SIP peer.
	dial func(l *leg, ctx context.Context, number, name string, withheld bool, ago time.Duration) (*legCall, error)
}

type dialResult struct {
	call *legCall
	err  error
}

// New builds a port; Run starts it. It fails with ErrConfig on a bad configuration.
func New(cfg Config, line Line, sink EventSink, log *slog.Logger, clock Clock) (*Port, error) {
	v, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	p := &Port{cfg: v, line: line, sink: sink, log: log.With("port", v.Port), clock: clock,
		ring:     dsp.NewRingCounter(v.Ring),
		progress: dsp.NewProgressDetector(v.country, 0, 0),
		silence:  dsp.NewSilenceDetector(0),
		dial:     (*leg).dial}
	switch v.std {
	case callerid.DTMF:
		p.dtmf = callerid.NewDTMFDecoder()
	default:
		if p.fsk, err = callerid.NewFSKDecoder(v.std, 0, p.log); err != nil {
			return nil, fmt.Errorf("%w: port %s: %w", ErrConfig, v.Port, err)
		}
		if v.std == callerid.V23 {
			p.alert = dsp.NewAlertDetector(0)
		}
	}
	return p, nil
}

// Run answers the line until ctx ends. A call in progress is then hung up (BYE, on hook) with
// reason shutdown. It returns an error wrapping ErrLine when the line interface fails.
func (p *Port) Run(ctx context.Context) error {
	l, err := newLeg(&p.cfg, p.line, p.log)
	if err != nil {
		return err
	}
	defer func() {
		// BYEs finish within their own deadline; a CANCEL toward a peer that never answered
		// waits for the transaction to time out, so close the agent (ending its transactions)
		// after a bounded wait, then wait for everything.
		waitFor(&p.wg, 3*time.Second)
		l.close()
		p.wg.Wait()
	}()
	if err := p.line.SetHook(false); err != nil {
		return fmt.Errorf("%w: port %s: on hook: %w", ErrLine, p.cfg.Port, err)
	}
	p.ringOn, _ = p.line.Ringing()
	if pr, ok := p.line.(PolarityReporter); ok {
		p.reversals, _ = pr.Reversals()
	}
	frame := make([]int16, FrameSamples)
	for {
		if err := p.line.ReadFrame(ctx, frame); err != nil {
			reason := ReasonShutdown
			if ctx.Err() == nil {
				reason = ReasonLineFailed
				err = fmt.Errorf("%w: port %s: %w", ErrLine, p.cfg.Port, err)
			} else {
				err = nil
			}
			p.endAttempt(p.clock.Now(), reason)
			return err
		}
		now := p.clock.Now()
		p.signals(ctx, l, now)
		p.audio(ctx, l, now, frame)
	}
}

func (p *Port) publish(e Event) {
	e.Port = p.cfg.Port
	if e.FirstRing.IsZero() {
		e.FirstRing = p.firstRing
	}
	if e.Rings == 0 {
		e.Rings = p.ring.Count()
	}
	if e.Caller == nil {
		e.Caller = p.caller
	}
	if p.sink != nil {
		p.sink.Publish(e)
	}
}

func (p *Port) openCID(at time.Time) {
	if p.fsk == nil || p.caller != nil {
		return
	}
	p.fsk.Reset()
	p.cidOpen, p.cidOpenedAt = true, at
}

// signals follows ring, polarity and loop current.
func (p *Port) signals(ctx context.Context, l *leg, now time.Time) {
	if pr, ok := p.line.(PolarityReporter); ok {
		if n, last := pr.Reversals(); n != p.reversals {
			p.reversals = n
			p.onReversal(last)
		}
	}
	if on, since := p.line.Ringing(); on != p.ringOn {
		p.ringOn = on
		p.onRingEdge(ctx, l, on, since)
	}
	if lc, ok := p.line.(LoopCurrentReporter); ok && (p.st == stateDialing || p.st == stateInCall) {
		flowing, since := lc.LoopCurrent()
		if flowing {
			p.loopSeen = true
		} else if p.loopSeen && since.Sub(p.offHookAt) > reversalGuard {
			p.hangup(since, ReasonLoopDrop)
		}
	}
	if p.st == stateRinging && !p.ring.Ringing(now) {
		// The caller gave up before the line answered.
		p.publish(Event{Kind: EventMissed, At: now})
		p.reset()
	}
	if p.st == stateIdle && p.preRingExpired(now) {
		// A reversal, an alert or a caller ID with no ring after it: the caller ID belongs to the
		// ring cycle it precedes, and none came.
		p.log.Debug("fxo pre-ring caller ID or window dropped: no ring followed", "caller_id", p.caller != nil)
		p.reset()
	}
}

// preRingExpired reports whether an open caller-ID window or a caller ID decoded before ringing
// has waited longer than preRingWindow for the first ring.
func (p *Port) preRingExpired(now time.Time) bool {
	return (p.cidOpen && now.Sub(p.cidOpenedAt) > preRingWindow) ||
		(p.caller != nil && now.Sub(p.callerAt) > preRingWindow)
}

func (p *Port) onReversal(at time.Time) {
	switch p.st {
	case stateIdle:
		// EN 300 659-1 clause 6.1.2: caller ID follows a reversal before the first ring.
		p.publish(Event{Kind: EventReversal, At: at})
		p.openCID(at)
	case stateDialing, stateInCall:
		if at.Sub(p.offHookAt) > reversalGuard {
			p.hangup(at, ReasonReversal)
		}
	}
}

func (p *Port) onRingEdge(ctx context.Context, l *leg, on bool, at time.Time) {
	if p.st == stateDialing || p.st == stateInCall {
		return // ringing voltage is not applied to a line that is off hook
	}
	rings, counted := p.ring.Edge(on, at)
	if on {
		if p.st == stateIdle {
			p.st = stateRinging
			p.firstRing = at
		}
		p.cidOpen = false // a ring ends every caller-ID window
		return
	}
	if rings == 1 {
		// GR-30 and ring-first EN 300 659-1: between the first and second ring. Reopened at the
		// end of each burst of the first ring, since a UK double ring is one ring of two bursts.
		p.openCID(at)
	}
	if !counted {
		return
	}
	p.publish(Event{Kind: EventRing, At: at, Rings: rings})
	if rings >= p.cfg.RingsBeforeAnswer {
		p.answer(ctx, l, at)
	}
}

// answer takes the line off hook and dials the appliance.
func (p *Port) answer(ctx context.Context, l *leg, at time.Time) {
	p.cidOpen = false
	if err := p.line.SetHook(true); err != nil {
		p.log.Error("fxo off hook", "err", err)
		p.publish(Event{Kind: EventMissed, At: at, Reason: ReasonLineFailed, Err: err})
		p.reset()
		return
	}
	now := p.clock.Now()
	p.st, p.offHookAt, p.loopSeen = stateDialing, now, false
	p.progress.Reset()
	p.silence.Reset()
	p.publish(Event{Kind: EventOffHook, At: now})
	number, name, withheld := "", "", true
	if c := p.caller; c != nil {
		number, name, withheld = c.Number, c.Name, c.Withheld || c.Unavailable || c.Number == ""
	}
	ago := now.Sub(p.firstRing)
	// On timeout, give up without a CANCEL (sipgo would wait for Timer B when nothing answered);
	// when the caller hangs up, CANCEL properly.
	tctx, tcancel := context.WithTimeoutCause(ctx, DefaultDialTimeout, sipgo.WaitAnswerForceCancelErr)
	dctx, dcancel := context.WithCancel(tctx)
	res := make(chan dialResult, 1)
	p.dialCancel, p.dialRes = func() { dcancel(); tcancel() }, res
	p.wg.Go(func() {
		c, err := p.dial(l, dctx, number, name, withheld, ago)
		if err == nil && dctx.Err() != nil {
			// Answered just as the caller hung up: hang up the appliance's side too.
			c.bye()
			err = dctx.Err()
		}
		res <- dialResult{c, err}
	})
}

// audio runs the detectors the state calls for and carries the audio of a call.
func (p *Port) audio(ctx context.Context, l *leg, now time.Time, frame []int16) {
	switch p.st {
	case stateIdle, stateRinging:
		p.callerID(now, frame)
	case stateDialing:
		select {
		case r := <-p.dialRes:
			p.dialCancel()
			p.dialRes = nil
			if r.err != nil {
				e := Event{Kind: EventRefused, At: now, Reason: refusalReason(r.err), Code: refusedCode(r.call), Err: r.err}
				if r.call != nil {
					e.CallID = r.call.callID
				}
				p.log.Warn("fxo call not taken by the appliance", "err", r.err)
				p.toOnHook()
				p.publish(e)
				p.reset()
				return
			}
			p.st, p.call = stateInCall, r.call
			p.publish(Event{Kind: EventConnected, At: now, CallID: r.call.callID})
		default:
		}
		p.supervise(now, frame)
	case stateInCall:
		if p.call.ended() {
			p.hangup(now, ReasonAppliance)
			return
		}
		p.call.send(frame)
		p.supervise(now, frame)
	}
}

// callerID feeds the caller-ID decoders while their window is open.
func (p *Port) callerID(now time.Time, frame []int16) {
	if p.caller != nil {
		return
	}
	if p.dtmf != nil {
		if p.ring.Count() > 0 || p.ringOn {
			return // DTMF CLIP comes before the first ring
		}
		var err error
		p.results, err = p.dtmf.Process(p.results[:0], frame)
		p.takeCallerID(now, err)
		return
	}
	if p.alert != nil && p.st == stateIdle && !p.cidOpen {
		if p.alerts = p.alert.Process(p.alerts[:0], frame); len(p.alerts) > 0 {
			p.openCID(now) // DT-AS on a line whose interface cannot see the reversal
		}
	}
	if !p.cidOpen || p.ringOn {
		return
	}
	var err error
	p.results, err = p.fsk.Process(p.results[:0], frame)
	p.takeCallerID(now, err)
}

func (p *Port) takeCallerID(now time.Time, err error) {
	if err != nil {
		// A bad checksum or a frame of another kind: report it, keep decoding (a network may repeat).
		p.publish(Event{Kind: EventCallerIDBad, At: now, Err: err})
	}
	if len(p.results) == 0 {
		return
	}
	r := p.results[0]
	p.caller, p.callerAt = &r, now
	p.cidOpen = false
	p.publish(Event{Kind: EventCallerID, At: now})
	p.log.Info("fxo caller ID", "standard", r.Standard.String(), "number", shorten(r.Number), "withheld", r.Withheld)
}

// supervise watches the caller's audio for the signs of a hang-up.
func (p *Port) supervise(now time.Time, frame []int16) {
	p.tones = p.progress.Process(p.tones[:0], frame)
	for _, t := range p.tones {
		if t.Cycles >= DefaultDisconnectCycles && (t.Kind == dsp.BusyTone || t.Kind == dsp.ReorderTone) {
			reason := ReasonBusy
			if t.Kind == dsp.ReorderTone {
				reason = ReasonReorder
			}
			p.hangup(now, reason)
			return
		}
	}
	if silent := p.silence.Process(frame); p.cfg.SilenceTimeout > 0 && silent >= p.cfg.SilenceTimeout {
		p.hangup(now, ReasonSilence)
	}
}

// hangup ends the call from the line's side (or records the appliance's BYE) and goes on hook.
func (p *Port) hangup(at time.Time, reason string) {
	if p.st != stateDialing && p.st != stateInCall {
		return
	}
	callID := ""
	if p.call != nil {
		callID = p.call.callID
	}
	p.toOnHook()
	p.publish(Event{Kind: EventHangup, At: at, Reason: reason, CallID: callID})
	p.log.Info("fxo call ended", "reason", reason)
	p.reset()
}

// toOnHook puts the line on hook and releases the SIP leg without waiting for it.
func (p *Port) toOnHook() {
	if err := p.line.SetHook(false); err != nil {
		p.log.Error("fxo on hook", "err", err)
	}
	if c := p.call; c != nil {
		p.call = nil
		p.wg.Go(c.bye) // BYE on its own deadline; Run waits for it before returning
	}
	if p.dialRes != nil {
		p.dialCancel()
		res := p.dialRes
		p.dialRes = nil
		p.wg.Go(func() {
			if r := <-res; r.call != nil && r.err == nil {
				r.call.bye()
			}
		})
	}
}

// endAttempt closes whatever attempt is under way when Run stops.
func (p *Port) endAttempt(now time.Time, reason string) {
	switch p.st {
	case stateDialing, stateInCall:
		p.hangup(now, reason)
	case stateRinging:
		p.publish(Event{Kind: EventMissed, At: now, Reason: reason})
		p.reset()
	}
}

// reset returns to idle for the next attempt.
func (p *Port) reset() {
	p.st = stateIdle
	p.ring.Reset()
	p.firstRing, p.offHookAt = time.Time{}, time.Time{}
	p.cidOpen, p.caller, p.call = false, nil, nil
	if p.fsk != nil {
		p.fsk.Reset()
	}
	if p.dtmf != nil {
		p.dtmf.Reset()
	}
	if p.alert != nil {
		p.alert.Reset()
	}
	p.progress.Reset()
	p.silence.Reset()
	p.ringOn, _ = p.line.Ringing() // a ring in progress is counted from its next edge
}

// waitFor waits for wg, at most d.
func waitFor(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// shorten keeps the last three digits of a number for logs.
func shorten(n string) string {
	if len(n) <= 3 {
		return "***"
	}
	return "***" + n[len(n)-3:]
}
