package appliance

import (
	"context"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/ringside/ringside/edge/call"
	"github.com/ringside/ringside/telephony/callerid"
	"github.com/ringside/ringside/telephony/dsp"
	"github.com/ringside/ringside/telephony/fxo"
	"github.com/ringside/ringside/telephony/fxo/fxosim"
)

// TestSimulatedAnalogLine: a simulated FXO line rings with Bell 202 caller ID; the port answers
// after two rings and the call goes through the queue to an agent's phone; the caller's busy
// tone ends it. The record has the analog port as its line, the decoded caller number, its
// tracking number's source, and a wait that counts from the first ring.
func TestSimulatedAnalogLine(t *testing.T) {
	// A trunk admits the loopback address the port calls from, as the demo's does: the port's
	// INVITE must still be taken as its own internal line, not as the trunk's.
	e := startApplianceWithLines(t, `
  - {id: fxo1, kind: fxo, tracking_number: "+1 212 555 0101", fxo: {simulated: true, country: US, caller_id: bell202, rings_before_answer: 2}}
  - {id: loopback-trunk, kind: sip_trunk, addresses: ["127.0.0.1/32"]}
`)
	e.agent("alice", time.Second)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		for r, err := range e.a.Store.CallsArrived(context.Background(), time.Now().Add(-time.Hour), time.Now().Add(time.Hour)) {
			if err != nil {
				t.Fatal(err)
			}
			if r.Line != "fxo1" || !r.Finished() {
				continue
			}
			if r.Outcome != call.Connected || r.Agent != "alice" {
				t.Fatalf("analog call: %s (%s), agent %q", r.Outcome, r.Reason, r.Agent)
			}
			if len(r.CallerNumber) != 12 || r.CallerNumber[:8] != "+1212555" || r.CallerName != "SIMULATED CALLER" {
				t.Errorf("caller %q %q, want the decoded +1212555xxxx and its name", r.CallerNumber, r.CallerName)
			}
			if r.TrackingNumber != "+12125550101" || r.Attribution.Source != "paid_search" {
				t.Errorf("tracking %s source %s", r.TrackingNumber, r.Attribution.Source)
			}
			// Two US rings (2 s on, 4 s off) pass before the line answers: the wait includes them.
			if r.Wait < 6*time.Second || r.Wait > 12*time.Second {
				t.Errorf("wait %v, want the rings (about 6-8 s) plus the agent's second", r.Wait)
			}
			if r.Talk <= 0 || r.Answered.IsZero() {
				t.Errorf("talk %v, answered %v", r.Talk, r.Answered)
			}
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("no finished call on the analog line within 60 s")
}

// finishedOn waits (at most d) until a finished record on line is stored and returns every
// record on that line.
func (e *e2e) finishedOn(line string, d time.Duration) []call.Record {
	e.t.Helper()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		var on []call.Record
		finished := false
		for r, err := range e.a.Store.CallsArrived(context.Background(), time.Now().Add(-time.Hour), time.Now().Add(time.Hour)) {
			if err != nil {
				e.t.Fatal(err)
			}
			if r.Line == line {
				on = append(on, r)
				finished = finished || r.Finished()
			}
		}
		if finished {
			return on
		}
	}
	e.t.Fatalf("no finished call on line %s within %v", line, d)
	return nil
}

// TestAnalogCallRefused: a simulated analog line's port calls the appliance's own SIP side,
// which refuses the call. Refused before it became a call there (the port's credentials do not
// match its line account: 403), the analog side records it, saying why; refused by the call's
// treatment (no agent logged in), the SIP side records it and the analog side adds nothing.
// Either way there is one record, with the caller decoded on the line.
func TestAnalogCallRefused(t *testing.T) {
	t.Parallel()
	const lines = `
  - {id: fxo1, kind: fxo, tracking_number: "+1 212 555 0101", fxo: {simulated: true, country: US, caller_id: bell202, rings_before_answer: 2}}
`
	for _, tc := range []struct {
		name    string
		before  func(*Appliance)
		outcome call.Outcome
		reason  string
	}{
		{"credentials refused", func(a *Appliance) { a.fxo.accounts["fxo1"] = "not-the-line-password" },
			call.Failed, "appliance refused the analog line's call (SIP 403)"},
		{"no agent", nil, call.NoAgent, "no agent logged in"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := startApplianceFrom(t, e2eConfig, t.TempDir(), lines, "", tc.before) // no agent registers
			recs := e.finishedOn("fxo1", 60*time.Second)
			if len(recs) != 1 {
				t.Fatalf("%d records on the analog line, want 1: %+v", len(recs), recs)
			}
			r := recs[0]
			if r.Outcome != tc.outcome || r.Reason != tc.reason {
				t.Errorf("record %s (%q), want %s (%q)", r.Outcome, r.Reason, tc.outcome, tc.reason)
			}
			if r.CallerNumber[:min(8, len(r.CallerNumber))] != "+1212555" || r.CallerName != "SIMULATED CALLER" {
				t.Errorf("caller %q %q, want the number and name decoded on the line", r.CallerNumber, r.CallerName)
			}
		})
	}
}

// runPort runs an analog port on line with the appliance's analog part as its event sink, until
// the test ends.
func (e *e2e) runPort(cfg fxo.Config, line *fxosim.Line) {
	e.t.Helper()
	port, err := fxo.New(cfg, line, e.a.fxo, slog.New(slog.DiscardHandler), line)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- port.Run(ctx) }()
	e.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			e.t.Errorf("port: %v", err)
		}
	})
}

// TestAnalogCallUnreachable: the port's call finds no SIP listener at all; after the dial
// timeout the analog side records the call as failed, saying the appliance could not be reached.
func TestAnalogCallUnreachable(t *testing.T) {
	t.Parallel()
	e := startAppliance(t)
	script, err := fxosim.Script(fxosim.Call{Cadence: fxosim.Cadence{Bursts: []time.Duration{400 * time.Millisecond}, Pause: time.Second},
		Standard: callerid.Bell202, Caller: callerid.Result{Number: "2125550147", Name: "DOE JANE"}, MDMF: true,
		Talk: dsp.AppendTone(nil, []float64{440}, -15, fxo.DefaultDialTimeout+5*time.Second)}) // the caller stays on the line
	if err != nil {
		t.Fatal(err)
	}
	nobody := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(freePort(t)))
	e.runPort(fxo.Config{Port: "fxo7", TrackingNumber: "+12125550101", CallerID: "bell202", Country: "US", SIPTarget: nobody},
		fxosim.New(script, time.Now(), true))
	recs := e.finishedOn("fxo7", fxo.DefaultDialTimeout+30*time.Second)
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1: %+v", len(recs), recs)
	}
	r := recs[0]
	if want := "analog line could not reach the appliance (no answer to its call)"; r.Outcome != call.Failed || r.Reason != want {
		t.Errorf("record %s (%q), want failed (%q)", r.Outcome, r.Reason, want)
	}
	if r.CallerNumber != "+12125550147" || r.CallerName != "DOE JANE" {
		t.Errorf("caller %q %q", r.CallerNumber, r.CallerName)
	}
}

// TestAnalogAbandonedKeepsItsOwnCallerID: DTMF CLIP arrives with no ring after it; a minute later
// another call rings with its own caller ID and stops before the line answers. The abandoned
// attempt's record carries the second caller, the one of its own ring cycle, and nothing is
// recorded for the ringless caller ID.
func TestAnalogAbandonedKeepsItsOwnCallerID(t *testing.T) {
	t.Parallel()
	e := startAppliance(t)
	de, err := fxosim.RingCadence("DE")
	if err != nil {
		t.Fatal(err)
	}
	ringless, err := callerid.DTMFSignal(callerid.Result{Number: "2125550111"}, -10)
	if err != nil {
		t.Fatal(err)
	}
	call2, err := fxosim.Script(fxosim.Call{Cadence: de, Standard: callerid.DTMF, Caller: callerid.Result{Number: "2125550122"}})
	if err != nil {
		t.Fatal(err)
	}
	script := append([]fxosim.Step{{Audio: ringless}, {Silence: time.Minute}}, call2...)
	// Never answered (twenty rings are more than the script's ten); the line's clock runs the
	// minute as fast as the port reads it.
	e.runPort(fxo.Config{Port: "fxo8", TrackingNumber: "+12125550101", CallerID: "dtmf", Country: "DE", RingsBeforeAnswer: 20,
		SIPTarget: e.sip}, fxosim.New(script, time.Now(), false))
	recs := e.finishedOn("fxo8", 30*time.Second)
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1: %+v", len(recs), recs)
	}
	if r := recs[0]; r.Outcome != call.Abandoned || r.CallerNumber != "+12125550122" {
		t.Errorf("record %s, caller %q, want abandoned by +12125550122 (its own ring cycle's caller ID)", r.Outcome, r.CallerNumber)
	}
}
