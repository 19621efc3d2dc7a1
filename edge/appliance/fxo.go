package appliance

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/ringside/ringside/edge/call"
	"github.com/ringside/ringside/edge/config"
	"github.com/ringside/ringside/edge/phone"
	"github.com/ringside/ringside/edge/tracker"
	"github.com/ringside/ringside/hw"
	"github.com/ringside/ringside/telephony/callerid"
	"github.com/ringside/ringside/telephony/fxo"
	"github.com/ringside/ringside/telephony/fxo/fxosim"
)

// An analog line works like an ATA built into the box: its port answers after the configured
// rings, decodes the caller ID, and places a SIP call to the appliance's own SIP port over
// loopback, authenticated as an internal line account; from there the call takes the same path
// as any SIP call. Calls that stop ringing before the line answers never reach SIP, so they are
// recorded here, as abandoned attempts on that line.

// fxoRestartDelay paces the restart of a port whose line failed (sound device gone).
const fxoRestartDelay = 5 * time.Second

// simulatedCallGap is the average pause between the calls of a simulated analog line.
const simulatedCallGap = 40 * time.Second

// fxoPart runs the analog ports.
type fxoPart struct {
	cfg      *config.Config
	log      *slog.Logger
	tracker  *tracker.Tracker
	region   string
	accounts map[string]string // line id -> generated password of its internal account
	target   netip.AddrPort

	mu sync.Mutex
	// sipSaw holds the analog lines whose current call reached the SIP side as a call (it
	// recorded it, refused or not), from the port's off-hook to its terminal event.
	sipSaw map[string]bool
}

// fxoUsername is the internal line account of an analog port.
func fxoUsername(lineID string) string { return "fxo-" + lineID }

// newFXOPart makes the analog lines' internal accounts. Check has made sure this build can drive
// them and that they have a UDP listener to call.
func newFXOPart(cfg *config.Config, log *slog.Logger) (*fxoPart, error) {
	p := &fxoPart{cfg: cfg, log: log, region: cfg.Site.Region, accounts: map[string]string{}, sipSaw: map[string]bool{}}
	for _, l := range cfg.Lines {
		if l.Kind != "fxo" {
			continue
		}
		var b [16]byte
		if _, err := crand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("line %s: internal password: %w", l.ID, err)
		}
		p.accounts[l.ID] = hex.EncodeToString(b[:])
	}
	p.target, _ = fxoTarget(cfg)
	return p, nil
}

// fxoTarget is the SIP address the analog lines call: the first UDP listener, on loopback when it
// listens on every address.
func fxoTarget(cfg *config.Config) (netip.AddrPort, bool) {
	for _, l := range cfg.SIP.Listen {
		proto, addr, _ := strings.Cut(l, ":")
		ap, err := netip.ParseAddrPort(addr)
		if proto != "udp" || err != nil {
			continue
		}
		if ap.Addr().IsUnspecified() {
			ap = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), ap.Port())
		}
		return ap, true
	}
	return netip.AddrPort{}, false
}

func (p *fxoPart) portConfig(l config.Line) fxo.Config {
	return fxo.Config{Port: l.ID, TrackingNumber: l.TrackingNumber, CallerID: l.FXO.CallerID, Country: l.FXO.Country,
		RingsBeforeAnswer: l.FXO.RingsBeforeAnswer, SIPTarget: p.target,
		Username: fxoUsername(l.ID), Password: p.accounts[l.ID]}
}

// run runs every analog port until ctx ends.
func (p *fxoPart) run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, l := range p.cfg.Lines {
		if l.Kind != "fxo" {
			continue
		}
		log := p.log.With("line", l.ID)
		if l.FXO.Simulated {
			wg.Go(func() { p.runSimulated(ctx, l, log) })
		} else {
			wg.Go(func() { p.runHardware(ctx, l, log) })
		}
	}
	wg.Wait()
}

// runHardware drives a port on the USB line interface and GPIO, reopening it when it fails.
func (p *fxoPart) runHardware(ctx context.Context, l config.Line, log *slog.Logger) {
	for ctx.Err() == nil {
		err := p.runHardwareOnce(ctx, l, log)
		if err == nil || ctx.Err() != nil {
			return
		}
		log.Error("analog line failed; reopening", "err", err, "in", fxoRestartDelay)
		select {
		case <-ctx.Done():
		case <-time.After(fxoRestartDelay):
		}
	}
}

func (p *fxoPart) runHardwareOnce(ctx context.Context, l config.Line, log *slog.Logger) error {
	ring, hook, err := hw.FXOPins(l.FXO.RingPin, l.FXO.HookPin)
	if err != nil {
		return err
	}
	line, err := hw.OpenFXOLine(hw.FXOConfig{Ring: ring, RingActiveLow: true, Hook: hook, HookActiveLow: l.FXO.HookActiveLow,
		Device: l.FXO.AudioDevice}, hw.SystemClock(), log)
	if err != nil {
		return err
	}
	defer line.Close()
	port, err := fxo.New(p.portConfig(l), line, p, log, SystemClock)
	if err != nil {
		return err
	}
	return port.Run(ctx)
}

// runSimulated plays scripted calls on a simulated line (for the demo and for tests): rings in the
// country's cadence, caller ID between the rings, a caller who talks, then the busy tone.
func (p *fxoPart) runSimulated(ctx context.Context, l config.Line, log *slog.Logger) {
	cadence, err := fxosim.RingCadence(l.FXO.Country)
	if err != nil {
		log.Error("simulated analog line stopped", "err", err)
		return
	}
	std, err := callerid.ParseStandard(l.FXO.CallerID)
	if err != nil {
		log.Error("simulated analog line stopped", "err", err)
		return
	}
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	for n := 0; ctx.Err() == nil; n++ {
		script, err := fxosim.Script(fxosim.Call{Cadence: cadence, Standard: std, MDMF: true, Hangup: l.FXO.Country,
			Caller: callerid.Result{Number: fmt.Sprintf("2125557%03d", r.IntN(60)), Name: "SIMULATED CALLER"}})
		if err != nil {
			log.Error("simulated analog line stopped", "err", err)
			return
		}
		line := fxosim.New(script, time.Now(), true)
		port, err := fxo.New(p.portConfig(l), line, p, log, line)
		if err != nil {
			log.Error("simulated analog line stopped", "err", err)
			return
		}
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- port.Run(cctx) }()
		select {
		case <-line.Done():
		case <-ctx.Done():
		}
		cancel()
		<-done
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(r.ExpFloat64() * float64(simulatedCallGap))):
		}
	}
}

// sipArrived notes that the SIP side took a call from an analog line's port (its arrived event):
// the SIP side records that call, whatever becomes of it.
func (p *fxoPart) sipArrived(line string) {
	if _, ok := p.accounts[line]; !ok {
		return
	}
	p.mu.Lock()
	p.sipSaw[line] = true
	p.mu.Unlock()
}

// seenBySIP reports whether the SIP side took the line's current call, and forgets it.
func (p *fxoPart) seenBySIP(line string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	saw := p.sipSaw[line]
	delete(p.sipSaw, line)
	return saw
}

// Publish receives the ports' events. A call that stopped ringing before the line answered, or
// whose loopback SIP call never became a call on the SIP side (appliance unreachable, the
// line's credentials refused), is recorded here: SIP never recorded it.
func (p *fxoPart) Publish(ev fxo.Event) {
	switch ev.Kind {
	case fxo.EventMissed:
		p.recordUnseen(ev, call.Abandoned, "caller hung up while the line rang")
	case fxo.EventOffHook:
		p.seenBySIP(ev.Port) // a new call: nothing seen yet
	case fxo.EventRefused:
		if !p.seenBySIP(ev.Port) {
			p.recordUnseen(ev, call.Failed, refusalDetail(ev))
		}
	case fxo.EventCallerIDBad:
		p.log.Warn("caller ID could not be decoded", "line", ev.Port, "err", ev.Err)
	default:
		p.log.Debug("analog line", "line", ev.Port, "event", ev.Kind, "rings", ev.Rings)
	}
}

// refusalDetail is the record's reason for an analog call the appliance did not take.
func refusalDetail(ev fxo.Event) string {
	switch ev.Reason {
	case fxo.ReasonRefused:
		return fmt.Sprintf("appliance refused the analog line's call (SIP %d)", ev.Code)
	case fxo.ReasonUnreachable:
		return "analog line could not reach the appliance (no answer to its call)"
	case fxo.ReasonSetupFailed:
		return "analog line's call to the appliance could not be set up"
	}
	if ev.Err != nil {
		return "analog line's call to the appliance failed: " + ev.Err.Error()
	}
	return "analog line's call to the appliance failed"
}

func (p *fxoPart) recordUnseen(ev fxo.Event, o call.Outcome, reason string) {
	first := ev.FirstRing
	if first.IsZero() {
		first = ev.At
	}
	a := &call.Arrival{Line: ev.Port}
	for _, l := range p.cfg.Lines {
		if l.ID == ev.Port {
			a.TrackingNumber, a.DialedNumber = l.TrackingNumber, l.TrackingNumber
		}
	}
	if c := ev.Caller; c != nil {
		a.CallerName = c.Name
		if c.Withheld || c.Unavailable {
			a.Withheld = true
		} else if n, err := phone.Normalize(c.Number, p.region); err == nil {
			a.CallerNumber = n
		} else {
			a.CallerNumber = c.Number
		}
	}
	id := call.NewID()
	p.tracker.Post(call.Event{CallID: id, Kind: call.KindArrived, At: first, Arrival: a})
	p.tracker.Post(call.Event{CallID: id, Kind: call.KindRefused, At: ev.At, Mono: max(ev.At.Sub(first), 0), Outcome: o, Detail: reason})
}
