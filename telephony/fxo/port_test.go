package fxo_test

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ringside/ringside/telephony/callerid"
	"github.com/ringside/ringside/telephony/dsp"
	"github.com/ringside/ringside/telephony/fxo"
	"github.com/ringside/ringside/telephony/fxo/fxosim"
	"github.com/ringside/ringside/telephony/siptest"
)

// events is the test EventSink.
type events struct {
	mu     sync.Mutex
	list   []fxo.Event
	notify chan struct{}
}

func newEvents() *events { return &events{notify: make(chan struct{}, 1)} }

func (e *events) Publish(ev fxo.Event) {
	e.mu.Lock()
	e.list = append(e.list, ev)
	e.mu.Unlock()
	select {
	case e.notify <- struct{}{}:
	default:
	}
}

func (e *events) all() []fxo.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]fxo.Event(nil), e.list...)
}

// wait returns the first event of kind k, failing after d.
func (e *events) wait(t *testing.T, k fxo.EventKind, d time.Duration) fxo.Event {
	t.Helper()
	deadline := time.After(d)
	for {
		for _, ev := range e.all() {
			if ev.Kind == k {
				return ev
			}
		}
		select {
		case <-e.notify:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no %s event; got %s", k, e.kinds())
		}
	}
}

func (e *events) kinds() string {
	s := ""
	for _, ev := range e.all() {
		s += string(ev.Kind) + " "
	}
	return s
}

func logger() *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("FXO_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// run starts the port and returns a stop function that waits for Run.
func run(t *testing.T, cfg fxo.Config, line *fxosim.Line, sink fxo.EventSink) func() error {
	t.Helper()
	p, err := fxo.New(cfg, line, sink, logger(), line)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(10 * time.Second):
				runErr = errors.New("Run did not return")
			}
		})
		return runErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return stop
}

func between(t *testing.T, what string, got, lo, hi time.Duration) {
	t.Helper()
	if got < lo || got > hi {
		t.Errorf("%s at %v, want between %v and %v", what, got, lo, hi)
	}
}

var shortRing = fxosim.Cadence{Bursts: []time.Duration{400 * time.Millisecond}, Pause: 2 * time.Second}

// TestBell202BusyToneHangup: a US line rings with MDMF caller ID between the first and second
// ring, the port answers after two rings and calls a real SIP peer (sipp, answering at once and
// echoing RTP), the caller talks, then the exchange's busy tone ends the call with a BYE.
func TestBell202BusyToneHangup(t *testing.T) {
	t.Parallel()
	const peerPort = 16872
	dir := t.TempDir()
	sc := siptest.Scenario(t, "testdata/sipp/agent.xml", dir, map[string]string{"ANSWER_MS": "50"})
	peer := siptest.StartSipp(t, dir, 60*time.Second, "-sf", sc, "-i", "127.0.0.3", "-p", strconv.Itoa(peerPort),
		"-mp", "46880", "-rtp_echo", "-m", "1", "-nostdin", "-timeout", "50s", "-timeout_error")
	want := callerid.Result{Number: "2125550147", Name: "DOE JANE", Time: callerid.DateTime{Month: 11, Day: 22, Hour: 9, Minute: 30}}
	talk := dsp.AppendTone(nil, []float64{1000}, -12, 2*time.Second)
	script, err := fxosim.Script(fxosim.Call{Cadence: shortRing, Standard: callerid.Bell202, Caller: want, MDMF: true, Talk: talk, Hangup: "US"})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	line := fxosim.New(script, start, true)
	ev := newEvents()
	stop := run(t, fxo.Config{Port: "fxo1", TrackingNumber: "5550100", CallerID: "bell202", Country: "US",
		SIPTarget: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.3"), peerPort), Password: "x"}, line, ev)

	hang := ev.wait(t, fxo.EventHangup, 20*time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if err, out := peer.Wait(); err != nil {
		t.Errorf("sipp peer (expects INVITE, ACK, BYE): %v\n%s", err, out)
	}
	if hang.Reason != fxo.ReasonBusy {
		t.Errorf("hang-up reason %q, want %q", hang.Reason, fxo.ReasonBusy)
	}
	if got := ev.kinds(); got != "ring caller_id ring off_hook connected hangup " {
		t.Errorf("events %q", got)
	}
	cid := ev.wait(t, fxo.EventCallerID, 0)
	if cid.Caller == nil || cid.Caller.Number != want.Number || cid.Caller.Name != want.Name || cid.Caller.Time != want.Time {
		t.Errorf("caller ID %+v, want %+v", cid.Caller, want)
	}
	if hang.Caller == nil || hang.Caller.Number != want.Number || hang.Port != "fxo1" || hang.CallID == "" {
		t.Errorf("hang-up event %+v lost the caller, port or call id", hang)
	}
	// Times on the line's clock (exact for rings, within the caller-ID window for the data).
	r1 := ev.all()[0]
	if r1.Kind != fxo.EventRing || r1.Rings != 1 || r1.At.Sub(start) != 400*time.Millisecond || r1.FirstRing != start {
		t.Errorf("first ring %+v, want ring 1 ending at +400ms, first ring at start", r1)
	}
	between(t, "caller ID", cid.At.Sub(start), 1500*time.Millisecond, 2400*time.Millisecond)
	off := ev.wait(t, fxo.EventOffHook, 0)
	between(t, "off hook", off.At.Sub(start), 2800*time.Millisecond, 2900*time.Millisecond)
	// Answered at +2.8 s; 0.3 s pause, 2 s talk, 0.3 s, then busy 500/500: two cycles are complete
	// 2 s into the tone (give the detector a cycle's slack).
	between(t, "busy hang-up", hang.At.Sub(off.At), 4300*time.Millisecond, 5600*time.Millisecond)
	hooks := line.Hooks()
	if len(hooks) != 2 || !hooks[0].OffHook || hooks[1].OffHook || !hooks[0].At.Equal(off.At) || !hooks[1].At.Equal(hang.At) {
		t.Errorf("hook changes %+v", hooks)
	}
	// The line's 1 kHz tone went out as RTP and came back in sipp's echo.
	heard := line.Received()
	best := 0.0
	for i := 0; i+800 <= len(heard); i += 400 {
		best = max(best, toneShare(heard[i:i+800], 1000))
	}
	if best < 0.8 {
		t.Errorf("the line did not hear its 1 kHz tone echoed (best share %.2f in %d samples)", best, len(heard))
	}
}

// TestMissedCall: ringing stops before the port answers; nothing is dialled (no SIP peer exists).
func TestMissedCall(t *testing.T) {
	t.Parallel()
	script := []fxosim.Step{{Ring: 2 * time.Second}, {Silence: 4 * time.Second}, {Ring: 2 * time.Second}, {Silence: 10 * time.Second}}
	start := time.Unix(1_800_000_000, 0)
	line := fxosim.New(script, start, false)
	ev := newEvents()
	stop := run(t, fxo.Config{Port: "fxo2", TrackingNumber: "5550100", CallerID: "bell202", Country: "US", RingsBeforeAnswer: 4,
		SIPTarget: netip.MustParseAddrPort("127.0.0.1:9")}, line, ev)
	m := ev.wait(t, fxo.EventMissed, 10*time.Second)
	_ = stop()
	if got := ev.kinds(); got != "ring ring missed " {
		t.Errorf("events %q", got)
	}
	// The last ring ended at +8 s; ringing is over DefaultRingStopAfter later.
	if d := m.At.Sub(start); d < 8*time.Second+dsp.DefaultRingStopAfter || d > 8*time.Second+dsp.DefaultRingStopAfter+100*time.Millisecond {
		t.Errorf("missed at +%v", d)
	}
	if m.Rings != 2 || m.Caller != nil || len(line.Hooks()) != 0 {
		t.Errorf("missed %+v, hooks %v", m, line.Hooks())
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	good := fxo.Config{Port: "p", TrackingNumber: "1", CallerID: "bell202", Country: "US", SIPTarget: netip.MustParseAddrPort("127.0.0.1:5060")}
	for name, mod := range map[string]func(*fxo.Config){
		"no port":      func(c *fxo.Config) { c.Port = "" },
		"no number":    func(c *fxo.Config) { c.TrackingNumber = "" },
		"bad standard": func(c *fxo.Config) { c.CallerID = "v99" },
		"bad country":  func(c *fxo.Config) { c.Country = "XX" },
		"one ring":     func(c *fxo.Config) { c.RingsBeforeAnswer = 1 },
		"no target":    func(c *fxo.Config) { c.SIPTarget = netip.AddrPort{} },
	} {
		c := good
		mod(&c)
		if _, err := fxo.New(c, nil, nil, logger(), nil); !errors.Is(err, fxo.ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		}
	}
	if _, err := fxo.New(good, nil, nil, logger(), nil); err != nil {
		t.Errorf("good config: %v", err)
	}
}
