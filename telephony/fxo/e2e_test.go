package fxo_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ringside/ringside/telephony/acd"
	"github.com/ringside/ringside/telephony/callerid"
	"github.com/ringside/ringside/telephony/dsp"
	"github.com/ringside/ringside/telephony/fxo"
	"github.com/ringside/ringside/telephony/fxo/fxosim"
	"github.com/ringside/ringside/telephony/pbx"
	"github.com/ringside/ringside/telephony/siptest"
)

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// pbxEvents is the appliance's EventSink in the test.
type pbxEvents struct {
	mu   sync.Mutex
	list []pbx.Event
}

func (r *pbxEvents) Publish(e pbx.Event) {
	r.mu.Lock()
	r.list = append(r.list, e)
	r.mu.Unlock()
}

func (r *pbxEvents) call() (kinds string, by map[pbx.Kind]pbx.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls()
}

// take is call, and forgets the events.
func (r *pbxEvents) take() (kinds string, by map[pbx.Kind]pbx.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	defer func() { r.list = nil }()
	return r.calls()
}

func (r *pbxEvents) calls() (kinds string, by map[pbx.Kind]pbx.Event) {
	by = map[pbx.Kind]pbx.Event{}
	for _, e := range r.list {
		if e.CallID != "" {
			kinds += string(e.Kind) + " "
			by[e.Kind] = e
		}
	}
	return kinds, by
}

// trackingRouter routes the first dialed number (the line's tracking number) to queue main.
type trackingRouter struct{}

func (trackingRouter) Route(in pbx.Inbound) (pbx.Route, error) {
	if len(in.Dialed) == 0 {
		return pbx.Route{}, pbx.ErrNoRoute
	}
	return pbx.Route{TrackingNumber: in.Dialed[0], Queue: "main"}, nil
}

// toneShare returns the share of x's energy at freq (Goertzel).
func toneShare(x []int16, freq float64) float64 {
	k := 2 * math.Cos(2*math.Pi*freq/dsp.SampleRate)
	var s1, s2, total float64
	for _, v := range x {
		f := float64(v)
		s1, s2 = f+k*s1-s2, s1
		total += f * f
	}
	if total == 0 {
		return 0
	}
	p := s1*s1 + s2*s2 - k*s1*s2
	return 2 * p / (float64(len(x)) * total)
}

// startPBX runs a real pbx.Server on 127.0.0.1:sipPort that knows the line account fxo1
// (password line-secret, internal) and agent a1 (pw-a1), the only member of queue main; RTP ports
// from rtpMin. It returns the server's address and the events it publishes.
func startPBX(t *testing.T, sipPort, rtpMin int) (netip.AddrPort, *pbxEvents) {
	t.Helper()
	target := netip.MustParseAddrPort(fmt.Sprintf("127.0.0.1:%d", sipPort))
	cfg := pbx.Config{
		Listeners:  []pbx.Listener{{Network: "udp", Addr: target.String()}},
		PublicAddr: target.Addr(),
		Lines:      []pbx.LineAccount{{ID: "fxo1", Username: "fxo1", Password: "line-secret", Internal: true}},
		Agents:     []pbx.AgentAccount{{ID: "a1", Username: "a1", Password: "pw-a1"}},
		Queues: []pbx.Queue{{Name: "main", Strategy: acd.RingAll, Members: []acd.Member{{Agent: "a1"}},
			RingTimeout: 10 * time.Second}},
		RTPPortMin: rtpMin, RTPPortMax: rtpMin + 99, RateLimit: 2000, RateBurst: 4000,
	}
	rec := &pbxEvents{}
	srv, err := pbx.New(cfg, trackingRouter{}, rec, logger(), wallClock{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srvDone := make(chan error, 1)
	go func() { srvDone <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-srvDone:
			if err != nil {
				t.Errorf("pbx Run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("pbx Run did not return")
		}
	})
	select {
	case <-srv.Ready():
	case err := <-srvDone:
		t.Fatal(err)
	case <-time.After(5 * time.Second):
		t.Fatal("pbx not ready")
	}
	return target, rec
}

// TestEndToEndThroughAppliance: a simulated FXO line rings with Bell 202 caller ID; the port
// answers and calls a real pbx.Server over loopback as its line account; the call goes through
// the queue to a sipp agent, which echoes the line's audio back (-rtp_echo), so the caller's
// 1 kHz tone returning to the line proves the agent received it; the exchange's busy tone ends
// the call; the appliance's events carry the decoded number, the line and the times.
func TestEndToEndThroughAppliance(t *testing.T) {
	t.Parallel()
	const sipPort, agentPort = 15871, 16871
	target, rec := startPBX(t, sipPort, 28700)

	// The agent: sipp answering after 500 ms and echoing RTP, registered as a1.
	const answer = 500 * time.Millisecond
	dir := t.TempDir()
	sc := siptest.Scenario(t, "testdata/sipp/agent.xml", dir, map[string]string{"ANSWER_MS": strconv.Itoa(int(answer.Milliseconds()))})
	agent := siptest.StartSipp(t, dir, 60*time.Second, "-sf", sc, "-i", "127.0.0.3", "-p", strconv.Itoa(agentPort),
		"-mp", "46870", "-rtp_echo", "-m", "1", "-nostdin", "-timeout", "50s", "-timeout_error")
	reg := siptest.NewPhone(t, "127.0.0.3", "a1", "pw-a1")
	rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
	code, err := reg.RegisterFor(rctx, target.String(), netip.MustParseAddrPort(fmt.Sprintf("127.0.0.3:%d", agentPort)), 300)
	rcancel()
	if err != nil || code != 200 {
		t.Fatalf("register a1: %d %v", code, err)
	}

	caller := callerid.Result{Number: "6175550199", Name: "SMITH JOHN"}
	talk := dsp.AppendTone(nil, []float64{1000}, -12, 3*time.Second)
	script, err := fxosim.Script(fxosim.Call{Cadence: shortRing, Standard: callerid.Bell202, Caller: caller, MDMF: true, Talk: talk, Hangup: "US"})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	line := fxosim.New(script, start, true)
	ev := newEvents()
	stop := run(t, fxo.Config{Port: "fxo1", TrackingNumber: "5550100", CallerID: "bell202", Country: "US",
		SIPTarget: target, Password: "line-secret"}, line, ev)

	hang := ev.wait(t, fxo.EventHangup, 20*time.Second)
	if err, out := agent.Wait(); err != nil {
		t.Errorf("sipp agent: %v\n%s", err, out)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if hang.Reason != fxo.ReasonBusy {
		t.Errorf("line hang-up reason %q, want busy tone; events %s", hang.Reason, ev.kinds())
	}
	var kinds string
	var by map[pbx.Kind]pbx.Event
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if kinds, by = rec.call(); by[pbx.CallEnded].Kind != "" || time.Now().After(deadline) {
			break
		}
	}
	if kinds != "arrived answered queued ringing connected ended " {
		t.Fatalf("appliance events %q", kinds)
	}
	arr, con, end := by[pbx.CallArrived], by[pbx.CallConnected], by[pbx.CallEnded]
	if in := arr.Inbound; in == nil || in.Caller != caller.Number || in.CallerName != caller.Name || in.Line != "fxo1" || in.Withheld {
		t.Errorf("arrived inbound %+v, want caller %s on line fxo1", arr.Inbound, caller.Number)
	}
	if arr.Route == nil || arr.Route.TrackingNumber != "5550100" {
		t.Errorf("route %+v, want tracking number 5550100", arr.Route)
	}
	if end.Outcome != pbx.Connected || end.Agent != "a1" {
		t.Errorf("ended %+v", end)
	}
	// Times: the line went off hook about 2.8 s after its first ring and called the appliance,
	// which, trusting X-Ringside-Arrived-Ago from its internal line account, dates the call's
	// arrival back to the first ring; it connected when sipp answered (0.5 s after the INVITE)
	// and ended when the busy tone hung the line up.
	off := ev.wait(t, fxo.EventOffHook, 0)
	if d := arr.At.Sub(hang.FirstRing); d < -100*time.Millisecond || d > 100*time.Millisecond {
		t.Errorf("arrived %v after the first ring, want at it (±100ms)", d)
	}
	rang := off.At.Sub(hang.FirstRing)
	if want := rang + answer; end.Wait < want-100*time.Millisecond || end.Wait > want+700*time.Millisecond {
		t.Errorf("wait %v, want about %v (first ring to the agent's answer)", end.Wait, want)
	}
	if want := hang.At.Sub(con.At); end.Talk < want-300*time.Millisecond || end.Talk > want+300*time.Millisecond {
		t.Errorf("talk %v, want %v (connected until the line hung up)", end.Talk, want)
	}
	// The caller's 1 kHz tone went to the agent and came back in its echo.
	heard := line.Received()
	best := 0.0
	for i := 0; i+800 <= len(heard); i += 400 {
		best = max(best, toneShare(heard[i:i+800], 1000))
	}
	if best < 0.8 {
		t.Errorf("the line did not hear its 1 kHz tone back from the agent (best share %.2f in %d samples)", best, len(heard))
	}
}

// TestRefusedByAppliance: the port's call to a real pbx.Server is refused, once before the
// appliance takes it as a call (credentials refused: 403, no call on its side) and once by the
// call's own treatment (no agent logged in: 480, a refused call on its side). Either way the
// port's terminal event says why, with the status, and keeps the caller decoded on the line.
func TestRefusedByAppliance(t *testing.T) {
	t.Parallel()
	target, rec := startPBX(t, 15876, 28800) // agent a1 never registers
	caller := callerid.Result{Number: "6175550142", Name: "ROE JANE"}
	for _, tc := range []struct {
		name, password string
		code           int
		pbxKinds       string // the appliance's events for the attempt
	}{
		{"credentials refused", "wrong-secret", 403, ""},
		{"no agent", "line-secret", 480, "arrived refused "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			script, err := fxosim.Script(fxosim.Call{Cadence: shortRing, Standard: callerid.Bell202, Caller: caller, MDMF: true, Hangup: "US"})
			if err != nil {
				t.Fatal(err)
			}
			line := fxosim.New(script, time.Now(), true)
			ev := newEvents()
			stop := run(t, fxo.Config{Port: "fxo1", TrackingNumber: "5550100", CallerID: "bell202", Country: "US",
				SIPTarget: target, Password: tc.password}, line, ev)
			r := ev.wait(t, fxo.EventRefused, 20*time.Second)
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			if r.Reason != fxo.ReasonRefused || r.Code != tc.code || !errors.Is(r.Err, fxo.ErrRefused) {
				t.Errorf("refused event: reason %q code %d err %v, want %q %d ErrRefused", r.Reason, r.Code, r.Err, fxo.ReasonRefused, tc.code)
			}
			if r.Caller == nil || r.Caller.Number != caller.Number || r.CallID == "" {
				t.Errorf("refused event lost the caller or the call id: %+v", r)
			}
			if got := ev.kinds(); got != "ring caller_id ring off_hook refused " {
				t.Errorf("events %q", got)
			}
			if kinds, by := rec.take(); kinds != tc.pbxKinds {
				t.Errorf("appliance events %q, want %q", kinds, tc.pbxKinds)
			} else if e, ok := by[pbx.CallRefused]; ok && (e.Code != tc.code || e.Reason != "no agent logged in") {
				t.Errorf("appliance refusal %+v", e)
			}
		})
	}
}
