package fxo

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/ringside/ringside/telephony/dsp/dsptest"
	"github.com/ringside/ringside/telephony/fxo/fxosim"
	"github.com/ringside/ringside/telephony/g711"
	"github.com/ringside/ringside/telephony/siptest"
)

type sliceSink struct{ list []Event }

func (s *sliceSink) Publish(e Event) { s.list = append(s.list, e) }

// TestNoFalseDisconnectOnSpeech: a caller talking (espeak-ng speech, through sox to 8 kHz) for
// about half a minute is not mistaken for busy or reorder tone; the exchange's busy tone after it
// then ends the call. The port runs on the line's clock, faster than real time, with an instant
// dial (no SIP peer: the supervision is what is tested).
func TestNoFalseDisconnectOnSpeech(t *testing.T) {
	t.Parallel()
	espeak, sox := siptest.NeedTool(t, "espeak-ng"), siptest.NeedTool(t, "sox")
	dir := t.TempDir()
	raw, wav := filepath.Join(dir, "speech.wav"), filepath.Join(dir, "speech8k.wav")
	text := "Hello, I am calling about the advertisement I saw for your plumbing services. " +
		"We have a leak under the kitchen sink, and the water has been dripping since Tuesday morning. " +
		"Could someone come by this afternoon, or tomorrow before noon? My address is twelve Oak Street, " +
		"near the school, and the best number to reach me is the one I am calling from. Thank you very much, goodbye."
	if out, err := exec.Command(espeak, "-s", "150", "-w", raw, text).CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v\n%s", err, out)
	}
	if out, err := exec.Command(sox, raw, "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", wav).CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, out)
	}
	speech, err := fxosim.LoadWAV(wav)
	if err != nil {
		t.Fatal(err)
	}
	if len(speech) < 8000*15 {
		t.Fatalf("only %d samples of speech", len(speech))
	}
	for _, country := range []string{"US", "GB", "DE", "FR"} {
		hangsUpOnBusyAfter(t, country, speech)
	}
}

// TestNoFalseDisconnectOnToneBursts: a French caller with 440 Hz bursts over the speech (the
// French tone frequency, at no cadence) is not hung up as reorder (issue 14 item 8); the busy
// tone after the talk still ends the call.
func TestNoFalseDisconnectOnToneBursts(t *testing.T) {
	t.Parallel()
	v := dsptest.Voices()[2]
	if v.Name != "fr-fr" {
		t.Fatalf("voice %q, want fr-fr", v.Name)
	}
	speech := dsptest.SpeechOf(t, t.TempDir(), v, -20)
	talk := dsptest.AddBursts(speech, []float64{440}, -12, 150*time.Millisecond, 600*time.Millisecond, 0)
	hangsUpOnBusyAfter(t, "FR", talk)
}

// hangsUpOnBusyAfter answers a call from country whose caller says talk and hangs up, and
// checks that the exchange's busy tone, and nothing in talk, ended the call.
func hangsUpOnBusyAfter(t *testing.T, country string, talk []int16) {
	t.Helper()
	cad, err := fxosim.RingCadence(country)
	if err != nil {
		t.Fatal(err)
	}
	std := "v23"
	if country == "US" {
		std = "bell202"
	}
	script, err := fxosim.Script(fxosim.Call{Cadence: cad, Talk: talk, Hangup: country})
	if err != nil {
		t.Fatal(err)
	}
	got := driveCall(t, script, Config{Port: "p", TrackingNumber: "1", CallerID: std, Country: country,
		SIPTarget: netip.MustParseAddrPort("127.0.0.1:9")})
	var off, hang Event
	for _, e := range got {
		switch e.Kind {
		case EventOffHook:
			off = e
		case EventHangup:
			hang = e
		}
	}
	if hang.Reason != ReasonBusy {
		t.Errorf("%s: hang-up %q %v after answering, want busy tone", country, hang.Reason, hang.At.Sub(off.At))
		return
	}
	// The busy tone starts 0.3 s + the talk + 0.3 s after answering.
	end := 600*time.Millisecond + time.Duration(len(talk))*time.Second/8000
	t.Logf("%s: %v of talk, busy hang-up %v after answering", country, end, hang.At.Sub(off.At))
	if d := hang.At.Sub(off.At); d < end {
		t.Errorf("%s: hung up %v after answering, during the talk (%v)", country, d, end)
	} else if d > end+3*time.Second {
		t.Errorf("%s: busy tone recognised %v after it began, want within 3 s (two cycles)", country, d-end)
	}
}

// driveCall runs script through a port on the line's clock with an instant dial, until the
// call's hang-up (or two minutes of line time), and returns the events.
func driveCall(t testing.TB, script []fxosim.Step, cfg Config) []Event {
	t.Helper()
	v, err := cfg.validate()
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	l, err := newLeg(&v, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	line := fxosim.New(script, time.Unix(1_800_000_000, 0), false)
	sink := &sliceSink{}
	p, err := New(cfg, line, sink, log, line)
	if err != nil {
		t.Fatal(err)
	}
	// RTP goes to the discard port on loopback; nothing listens, which is fine for UDP.
	p.dial = func(l *leg, ctx context.Context, number, name string, withheld bool, ago time.Duration) (*legCall, error) {
		return &legCall{l: l, remote: l.rtp.LocalAddr().(*net.UDPAddr), codec: g711.PCMU, callID: "test", done: make(chan struct{}),
			payload: make([]byte, 0, FrameSamples), pkt: make([]byte, 0, 12+FrameSamples)}, nil
	}
	ctx := context.Background()
	frame := make([]int16, FrameSamples)
	for range 120 * 50 {
		_ = line.ReadFrame(ctx, frame)
		now := line.Now()
		p.signals(ctx, l, now)
		for i := 0; p.st == stateDialing && len(p.dialRes) == 0 && i < 1e6; i++ {
			runtime.Gosched()
		}
		p.audio(ctx, l, now, frame)
		if n := len(sink.list); n > 0 && sink.list[n-1].Kind == EventHangup {
			break
		}
	}
	p.wg.Wait()
	return sink.list
}
