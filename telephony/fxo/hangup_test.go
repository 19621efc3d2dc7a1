package fxo_test

import (
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/ringside/ringside/telephony/callerid"
	"github.com/ringside/ringside/telephony/fxo"
	"github.com/ringside/ringside/telephony/fxo/fxosim"
	"github.com/ringside/ringside/telephony/siptest"
)

// callPeer starts sipp as the appliance with scenario file (vars replaced) on 127.0.0.3:port.
func callPeer(t *testing.T, file string, port, mport int, vars map[string]string) *siptest.Sipp {
	t.Helper()
	dir := t.TempDir()
	sc := siptest.Scenario(t, file, dir, vars)
	args := []string{"-sf", sc, "-i", "127.0.0.3", "-p", strconv.Itoa(port),
		"-mp", strconv.Itoa(mport), "-m", "1", "-nostdin", "-timeout", "50s", "-timeout_error"}
	if os.Getenv("FXO_DEBUG") != "" {
		args = append(args, "-trace_msg", "-message_file", "/tmp/fxo-sipp-"+strconv.Itoa(port)+".log")
	}
	sp := siptest.StartSipp(t, dir, 60*time.Second, args...)
	t.Cleanup(func() {
		if t.Failed() {
			sp.Stop()
			_, out := sp.Wait()
			t.Logf("sipp output:\n%s", out)
		}
	})
	return sp
}

func peerDone(t *testing.T, sp *siptest.Sipp) {
	t.Helper()
	if err, out := sp.Wait(); err != nil {
		t.Errorf("sipp: %v\n%s", err, out)
	}
}

// TestApplianceHangsUpWithheld: a withheld caller (SDMF 'P') is sent as anonymous with
// Privacy: id (sipp checks the INVITE), and the appliance's BYE puts the line on hook.
func TestApplianceHangsUpWithheld(t *testing.T) {
	t.Parallel()
	const port = 16873
	peer := callPeer(t, "testdata/sipp/appliance_bye.xml", port, 46890, map[string]string{"TALK_MS": "1500"})
	script, err := fxosim.Script(fxosim.Call{Cadence: shortRing, Standard: callerid.Bell202, Caller: callerid.Result{Withheld: true},
		Talk: make([]int16, 8000*20)}) // the caller stays on the line (20 s of silence, no tone)
	if err != nil {
		t.Fatal(err)
	}
	line := fxosim.New(script, time.Now(), true)
	ev := newEvents()
	stop := run(t, fxo.Config{Port: "fxo3", TrackingNumber: "5550100", CallerID: "bell202", Country: "US",
		SIPTarget: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.3"), port)}, line, ev)
	con := ev.wait(t, fxo.EventConnected, 15*time.Second)
	hang := ev.wait(t, fxo.EventHangup, 10*time.Second)
	_ = stop()
	peerDone(t, peer)
	if hang.Reason != fxo.ReasonAppliance {
		t.Errorf("hang-up reason %q, want %q", hang.Reason, fxo.ReasonAppliance)
	}
	between(t, "appliance BYE", hang.At.Sub(con.At), 1400*time.Millisecond, 2000*time.Millisecond)
	if c := hang.Caller; c == nil || !c.Withheld {
		t.Errorf("caller %+v, want withheld", c)
	}
	if h := line.Hooks(); len(h) != 2 || h[1].OffHook || !h[1].At.Equal(hang.At) {
		t.Errorf("hooks %+v, want on hook at the BYE", h)
	}
}

// TestLoopCurrentDropHangsUp: the exchange's open-loop disconnect ends the call (BYE to the peer).
func TestLoopCurrentDropHangsUp(t *testing.T) {
	t.Parallel()
	const port = 16874
	peer := callPeer(t, "testdata/sipp/agent.xml", port, 46900, map[string]string{"ANSWER_MS": "50"})
	script, err := fxosim.Script(fxosim.Call{Cadence: shortRing, Standard: callerid.Bell202,
		Caller: callerid.Result{Number: "3125550111"}}) // Hangup "": the loop current drops after the talk
	if err != nil {
		t.Fatal(err)
	}
	line := fxosim.New(script, time.Now(), true)
	ev := newEvents()
	stop := run(t, fxo.Config{Port: "fxo4", TrackingNumber: "5550100", CallerID: "bell202", Country: "US",
		SIPTarget: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.3"), port)}, line, ev)
	off := ev.wait(t, fxo.EventOffHook, 15*time.Second)
	hang := ev.wait(t, fxo.EventHangup, 15*time.Second)
	_ = stop()
	peerDone(t, peer)
	if hang.Reason != fxo.ReasonLoopDrop {
		t.Errorf("hang-up reason %q, want %q (events %s)", hang.Reason, fxo.ReasonLoopDrop, ev.kinds())
	}
	// 0.3 s, 2 s of talk, 0.3 s, then the drop.
	between(t, "loop drop", hang.At.Sub(off.At), 2500*time.Millisecond, 2700*time.Millisecond)
}

// TestSilenceTimeoutHangsUp: on a line without disconnect supervision the caller's silence ends
// the call after the configured timeout.
func TestSilenceTimeoutHangsUp(t *testing.T) {
	t.Parallel()
	const port = 16875
	peer := callPeer(t, "testdata/sipp/agent.xml", port, 46910, map[string]string{"ANSWER_MS": "50"})
	script, err := fxosim.Script(fxosim.Call{Cadence: shortRing, Standard: callerid.Bell202,
		Caller: callerid.Result{Number: "3125550112"}, Talk: make([]int16, 8000*20)})
	if err != nil {
		t.Fatal(err)
	}
	line := fxosim.New(script, time.Now(), true)
	ev := newEvents()
	stop := run(t, fxo.Config{Port: "fxo5", TrackingNumber: "5550100", CallerID: "bell202", Country: "US",
		SilenceTimeout: 1500 * time.Millisecond, SIPTarget: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.3"), port)}, line, ev)
	off := ev.wait(t, fxo.EventOffHook, 15*time.Second)
	hang := ev.wait(t, fxo.EventHangup, 15*time.Second)
	_ = stop()
	peerDone(t, peer)
	if hang.Reason != fxo.ReasonSilence {
		t.Errorf("hang-up reason %q, want %q (events %s)", hang.Reason, fxo.ReasonSilence, ev.kinds())
	}
	between(t, "silence hang-up", hang.At.Sub(off.At), 1460*time.Millisecond, 1600*time.Millisecond) // the answering frame counts
}
