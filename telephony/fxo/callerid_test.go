package fxo_test

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/ringside/ringside/telephony/callerid"
	"github.com/ringside/ringside/telephony/fxo"
	"github.com/ringside/ringside/telephony/fxo/fxosim"
)

// TestCallerIDStandards decodes each standard where its network sends it, on lines that ring
// without being answered (the line's own clock, faster than real time): DTMF CLIP before the
// first ring, V.23 after a polarity reversal before the first ring (UK), V.23 after the first of
// the UK's double rings, and Bell 202 SDMF with a withheld number.
func TestCallerIDStandards(t *testing.T) {
	t.Parallel()
	uk, err := fxosim.RingCadence("GB")
	if err != nil {
		t.Fatal(err)
	}
	de, _ := fxosim.RingCadence("DE")
	us, _ := fxosim.RingCadence("US")
	for _, tc := range []struct {
		name     string
		std      string
		country  string
		call     fxosim.Call
		want     callerid.Result
		firstEvt fxo.EventKind
		window   [2]time.Duration // when, after the line's start, the caller ID must be decoded
	}{
		{"dtmf clip", "dtmf", "DE", fxosim.Call{Cadence: de, Standard: callerid.DTMF, Caller: callerid.Result{Number: "0301234567"}},
			callerid.Result{Number: "0301234567"}, fxo.EventCallerID, [2]time.Duration{time.Second, 2500 * time.Millisecond}},
		{"v23 after reversal", "v23", "GB", fxosim.Call{Cadence: uk, Standard: callerid.V23, Reversal: true,
			Caller: callerid.Result{Number: "02079460123", Name: "BLOGGS"}},
			callerid.Result{Number: "02079460123", Name: "BLOGGS"}, fxo.EventReversal, [2]time.Duration{300 * time.Millisecond, 1200 * time.Millisecond}},
		{"v23 after first ring", "v23", "GB", fxosim.Call{Cadence: uk, Standard: callerid.V23,
			Caller: callerid.Result{Number: "01632960001"}},
			callerid.Result{Number: "01632960001"}, fxo.EventRing, [2]time.Duration{1500 * time.Millisecond, 2600 * time.Millisecond}},
		{"bell202 sdmf withheld", "bell202", "US", fxosim.Call{Cadence: us, Standard: callerid.Bell202, Caller: callerid.Result{Withheld: true}},
			callerid.Result{Withheld: true}, fxo.EventRing, [2]time.Duration{2500 * time.Millisecond, 4 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			script, err := fxosim.Script(tc.call)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Unix(1_800_000_000, 0)
			line := fxosim.New(script, start, false)
			ev := newEvents()
			// Never answered: twenty rings are more than the script's ten.
			run(t, fxo.Config{Port: "p", TrackingNumber: "1", CallerID: tc.std, Country: tc.country, RingsBeforeAnswer: 20,
				SIPTarget: netip.MustParseAddrPort("127.0.0.1:9")}, line, ev)
			m := ev.wait(t, fxo.EventMissed, 20*time.Second)
			all := ev.all()
			if all[0].Kind != tc.firstEvt {
				t.Errorf("first event %s, want %s (events %s)", all[0].Kind, tc.firstEvt, ev.kinds())
			}
			c := ev.wait(t, fxo.EventCallerID, 0)
			if c.Caller == nil || c.Caller.Number != tc.want.Number || c.Caller.Name != tc.want.Name || c.Caller.Withheld != tc.want.Withheld {
				t.Fatalf("caller ID %+v, want %+v", c.Caller, tc.want)
			}
			between(t, "caller ID", c.At.Sub(start), tc.window[0], tc.window[1])
			if m.Caller == nil || m.Caller.Number != tc.want.Number || m.Rings != fxosim.MaxRings+1 {
				t.Errorf("missed %+v (caller %+v), want the caller ID and %d rings", m, m.Caller, fxosim.MaxRings+1)
			}
			for _, e := range all {
				if e.Kind == fxo.EventCallerIDBad {
					t.Errorf("caller-ID error on a clean signal: %v", e.Err)
				}
			}
			if len(line.Hooks()) != 0 {
				t.Errorf("the line went off hook: %v", line.Hooks())
			}
		})
	}
}

// TestCallerIDBadChecksum: a frame damaged in transit is reported, nothing of it is used, and the
// decoder keeps listening: the network's repeat of the frame, still before the second ring, is
// taken.
func TestCallerIDBadChecksum(t *testing.T) {
	t.Parallel()
	want := callerid.Result{Number: "4155550123", Name: "ROE RICHARD"}
	frame, err := callerid.EncodeMDMF(want)
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), frame...)
	bad[len(bad)-1] ^= 0x5a
	first, err := callerid.FSKSignal(callerid.Bell202, bad, callerid.SeizureBits, callerid.MarkBits, callerid.DefaultLevelDBm0)
	if err != nil {
		t.Fatal(err)
	}
	again, err := callerid.FSKSignal(callerid.Bell202, frame, 0, callerid.MarkBits, callerid.DefaultLevelDBm0)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Unix(1_800_000_000, 0)
	script := []fxosim.Step{{Ring: 2 * time.Second}, {Silence: 500 * time.Millisecond}, {Audio: first}, {Silence: 100 * time.Millisecond},
		{Audio: again}, {Silence: time.Second}, {Ring: 2 * time.Second}, {Silence: 8 * time.Second}}
	line := fxosim.New(script, start, false)
	ev := newEvents()
	run(t, fxo.Config{Port: "p", TrackingNumber: "1", CallerID: "bell202", Country: "US", RingsBeforeAnswer: 5,
		SIPTarget: netip.MustParseAddrPort("127.0.0.1:9")}, line, ev)
	ev.wait(t, fxo.EventMissed, 20*time.Second)
	if got := ev.kinds(); got != "ring caller_id_error caller_id ring missed " {
		t.Errorf("events %q", got)
	}
	bad1 := ev.wait(t, fxo.EventCallerIDBad, 0)
	if !errors.Is(bad1.Err, callerid.ErrChecksum) || bad1.Caller != nil {
		t.Errorf("bad frame event %+v, want ErrChecksum and no caller", bad1)
	}
	if c := ev.wait(t, fxo.EventCallerID, 0).Caller; c == nil || c.Number != want.Number || c.Name != want.Name {
		t.Errorf("caller %+v, want %+v", c, want)
	}
}

// preRing returns the steps of script before its first ring: the caller ID a reversal-first or
// DTMF CLIP exchange sends ahead of ringing.
func preRing(t *testing.T, script []fxosim.Step) []fxosim.Step {
	t.Helper()
	for i, s := range script {
		if s.Ring > 0 {
			return script[:i]
		}
	}
	t.Fatal("script does not ring")
	return nil
}

// TestPreRingCallerIDExpires: a caller ID sent ahead of ringing (DTMF CLIP; V.23 after a
// reversal) belongs to the ring cycle it precedes. When no ring follows, it is dropped after
// the pre-ring window: the next call, a minute later, is missed with its own caller ID or with
// none, never with the stale one. A ring a few seconds after the data still takes it, and a
// ring-first caller ID ends with its unanswered ring cycle. The line's clock runs the minute
// without waiting for it.
func TestPreRingCallerIDExpires(t *testing.T) {
	t.Parallel()
	de, _ := fxosim.RingCadence("DE")
	uk, _ := fxosim.RingCadence("GB")
	us, _ := fxosim.RingCadence("US")
	stale := callerid.Result{Number: "0301112222", Name: "STALE"}
	own := callerid.Result{Number: "0305556666", Name: "OWN"}
	for _, tc := range []struct {
		name, std, country string
		first              fxosim.Call   // what the exchange sent first
		ringless           bool          // only the first call's data, no ring after it
		gap                time.Duration // silence before the second call
		second             fxosim.Call
		want               *callerid.Result // the caller of the missed second call
	}{
		{"dtmf, no ring, then a call with its own caller ID", "dtmf", "DE",
			fxosim.Call{Cadence: de, Standard: callerid.DTMF, Caller: stale}, true, time.Minute,
			fxosim.Call{Cadence: de, Standard: callerid.DTMF, Caller: own}, &own},
		{"dtmf, no ring, then a call without caller ID", "dtmf", "DE",
			fxosim.Call{Cadence: de, Standard: callerid.DTMF, Caller: stale}, true, time.Minute,
			fxosim.Call{Cadence: de, Standard: callerid.DTMF}, nil},
		{"dtmf, first ring 5 s after the data", "dtmf", "DE",
			fxosim.Call{Cadence: de, Standard: callerid.DTMF, Caller: stale}, true, 5 * time.Second,
			fxosim.Call{Cadence: de, Standard: callerid.DTMF}, &stale},
		{"v23 after reversal, no ring, then a call with its own caller ID", "v23", "GB",
			fxosim.Call{Cadence: uk, Standard: callerid.V23, Reversal: true, Caller: stale}, true, time.Minute,
			fxosim.Call{Cadence: uk, Standard: callerid.V23, Reversal: true, Caller: own}, &own},
		{"v23 after reversal, no ring, then a call without caller ID", "v23", "GB",
			fxosim.Call{Cadence: uk, Standard: callerid.V23, Reversal: true, Caller: stale}, true, time.Minute,
			fxosim.Call{Cadence: uk, Standard: callerid.V23}, nil},
		{"bell202 missed call, then a call without caller ID", "bell202", "US",
			fxosim.Call{Cadence: us, Standard: callerid.Bell202, Caller: stale, MDMF: true}, false, 10 * time.Second,
			fxosim.Call{Cadence: us, Standard: callerid.Bell202}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			first, err := fxosim.Script(tc.first)
			if err != nil {
				t.Fatal(err)
			}
			second, err := fxosim.Script(tc.second)
			if err != nil {
				t.Fatal(err)
			}
			if tc.ringless {
				first = preRing(t, first)
			}
			script := append(append(append([]fxosim.Step(nil), first...), fxosim.Step{Silence: tc.gap}), second...)
			line := fxosim.New(script, time.Unix(1_800_000_000, 0), false)
			ev := newEvents()
			run(t, fxo.Config{Port: "p", TrackingNumber: "1", CallerID: tc.std, Country: tc.country, RingsBeforeAnswer: 20,
				SIPTarget: netip.MustParseAddrPort("127.0.0.1:9")}, line, ev)
			var missed []fxo.Event
			for deadline := time.Now().Add(20 * time.Second); ; {
				missed = missed[:0]
				for _, e := range ev.all() {
					if e.Kind == fxo.EventMissed {
						missed = append(missed, e)
					}
				}
				if want := 1 + btoi(!tc.ringless); len(missed) >= want {
					missed = missed[want-1:]
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no missed second call; events %s", ev.kinds())
				}
				time.Sleep(10 * time.Millisecond)
			}
			if ev.wait(t, fxo.EventCallerID, 0).Caller.Number != stale.Number {
				t.Errorf("the first caller ID was not decoded; events %s", ev.kinds())
			}
			got := missed[0].Caller
			switch {
			case tc.want == nil && got != nil:
				t.Errorf("missed call carries caller %+v, want none", got)
			case tc.want != nil && (got == nil || got.Number != tc.want.Number):
				t.Errorf("missed call carries caller %+v, want %+v", got, tc.want)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
