package hw_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/ringside/ringside/hw"
	"github.com/ringside/ringside/hw/hwtest"
)

// specCycle is the "Pattern timings" table of doc.go, written out again
// here so the test checks the code against the documentation, not against
// itself. nil with on=true is steady, nil with on=false is off.
func specCycle(t *testing.T, name string) (cycle []time.Duration, on bool) {
	t.Helper()
	ms := func(v ...int) []time.Duration {
		var d []time.Duration
		for _, x := range v {
			d = append(d, time.Duration(x)*time.Millisecond)
		}
		return d
	}
	switch name {
	case "off":
		return nil, false
	case "steady":
		return nil, true
	case "blink":
		return ms(500, 500), false
	case "fast_blink":
		return ms(125, 125), false
	case "heartbeat":
		return ms(100, 100, 100, 700), false
	case "waiting(1)":
		return ms(500, 500), false
	case "waiting(2)":
		return ms(350, 350), false
	case "waiting(3)":
		return ms(250, 250), false
	case "waiting(4)":
		return ms(175, 175), false
	case "waiting(5)":
		return ms(125, 125), false
	}
	t.Fatalf("pattern %q is not in doc.go's table", name)
	return nil, false
}

// specLit says whether the documented pattern is lit at elapsed.
func specLit(t *testing.T, name string, elapsed time.Duration) bool {
	cycle, on := specCycle(t, name)
	if cycle == nil {
		return on
	}
	var period time.Duration
	for _, d := range cycle {
		period += d
	}
	at := elapsed % period
	lit := true
	for _, d := range cycle {
		if at < d {
			return lit
		}
		at -= d
		lit = !lit
	}
	t.Fatalf("unreachable")
	return false
}

func newLogger(w *syncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startPanel runs a panel on a fake clock and waits until its first
// apply is done.
func startPanel(t *testing.T, leds [hw.NumLEDs]hw.Output, clk *hwtest.Clock, log *slog.Logger) (*hw.Panel, func()) {
	t.Helper()
	p := hw.NewPanel(leds, clk, log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for clk.Tickers() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("panel never started its ticker")
		}
		time.Sleep(time.Millisecond)
	}
	p.Snapshot() // served after the first apply
	stop := func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("panel Run did not return after cancel")
		}
	}
	return p, stop
}

func TestPanelScriptedStates(t *testing.T) {
	pins := [hw.NumLEDs]*gpiotest.Pin{}
	var leds [hw.NumLEDs]hw.Output
	for i := range pins {
		pins[i] = &gpiotest.Pin{N: fmt.Sprintf("LED%d", i), L: gpio.Low}
		// The ready LED is wired active-low, to check polarity.
		leds[i] = hw.Output{Pin: pins[i], ActiveLow: hw.LED(i) == hw.LEDReady}
	}
	pins[hw.LEDReady].L = gpio.High // an active-low LED starts dark
	t0 := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	clk := hwtest.NewClock(t0)
	var logs syncBuffer
	panel, stop := startPanel(t, leds, clk, newLogger(&logs))

	ms := func(v int) time.Duration { return time.Duration(v) * time.Millisecond }
	// The script: at each time, the state the appliance reports and, from
	// doc.go's mapping table, what each LED must show (ready, calls, alarm, uplink).
	script := []struct {
		at    time.Duration
		state hw.State
		want  [hw.NumLEDs]string
	}{
		{0, hw.State{}, [4]string{"blink", "off", "off", "off"}},
		{ms(1300), hw.State{Ready: true, Uplink: hw.UplinkOnline}, [4]string{"steady", "off", "off", "steady"}},
		{ms(2000), hw.State{Ready: true, Waiting: 1, Uplink: hw.UplinkOnline}, [4]string{"steady", "waiting(1)", "off", "steady"}},
		{ms(3100), hw.State{Ready: true, Waiting: 3, InProgress: 1, Uplink: hw.UplinkOnline}, [4]string{"steady", "waiting(3)", "off", "steady"}},
		{ms(3900), hw.State{Ready: true, Waiting: 2, InProgress: 1, Uplink: hw.UplinkOnline}, [4]string{"steady", "waiting(2)", "off", "steady"}},
		{ms(4500), hw.State{Ready: true, Waiting: 4, InProgress: 1, Uplink: hw.UplinkOnline}, [4]string{"steady", "waiting(4)", "off", "steady"}},
		{ms(5000), hw.State{Ready: true, Waiting: 7, InProgress: 1, Uplink: hw.UplinkOnline}, [4]string{"steady", "waiting(5)", "off", "steady"}},
		// 7 -> 9 waiting is the same pattern: it must not restart.
		{ms(5575), hw.State{Ready: true, Waiting: 9, InProgress: 1, Uplink: hw.UplinkOnline}, [4]string{"steady", "waiting(5)", "off", "steady"}},
		{ms(6200), hw.State{Ready: true, InProgress: 2, Alarms: hw.AlarmDiskLow, Uplink: hw.UplinkOffline}, [4]string{"steady", "steady", "fast_blink", "fast_blink"}},
		{ms(7400), hw.State{Ready: true, InProgress: 2, Alarms: hw.AlarmDiskLow, Acknowledged: hw.AlarmDiskLow, Uplink: hw.UplinkOffline}, [4]string{"steady", "steady", "steady", "fast_blink"}},
		{ms(8000), hw.State{Ready: true, Alarms: hw.AlarmDiskLow | hw.AlarmRegistrationLost, Acknowledged: hw.AlarmDiskLow, Uplink: hw.UplinkBacklogged}, [4]string{"steady", "off", "fast_blink", "blink"}},
		{ms(9300), hw.State{Ready: true, Night: true, Alarms: hw.AlarmBlocked | hw.AlarmRecordingFailing, Acknowledged: hw.AlarmBlocked | hw.AlarmRecordingFailing, Uplink: hw.UplinkBacklogged}, [4]string{"heartbeat", "off", "steady", "blink"}},
		{ms(11150), hw.State{Night: true, Uplink: hw.UplinkDisabled}, [4]string{"blink", "off", "off", "off"}},
	}
	const end = 13 * time.Second

	var want [hw.NumLEDs]string
	var since [hw.NumLEDs]time.Duration
	step := 0
	toggles := 0
	var prev [hw.NumLEDs]gpio.Level
	for now := time.Duration(0); now <= end; now += hw.Tick {
		if step < len(script) && script[step].at == now {
			panel.Set(script[step].state)
			for i := range want {
				if script[step].want[i] != want[i] {
					want[i], since[i] = script[step].want[i], now
				}
			}
			step++
		}
		if now > 0 {
			if !clk.Advance(hw.Tick) {
				t.Fatalf("t=%v: the panel did not take its tick", now)
			}
		} else {
			// The first state is the zero State the panel starts from.
		}
		snap := panel.Snapshot()
		for i, p := range pins {
			lit := specLit(t, want[i], now-since[i])
			wantLevel := gpio.Level(lit != (hw.LED(i) == hw.LEDReady))
			got := p.Read()
			if got != wantLevel {
				t.Fatalf("t=%v led %s: pattern %s %v into it: pin %s, want %s",
					now, hw.LED(i), want[i], now-since[i], got, wantLevel)
			}
			if snap[i].Pattern != want[i] || snap[i].Lit != lit || snap[i].LED != hw.LED(i).String() {
				t.Fatalf("t=%v: snapshot %+v, want led %s pattern %s lit %v", now, snap[i], hw.LED(i), want[i], lit)
			}
			if !snap[i].Since.Equal(t0.Add(since[i])) {
				t.Fatalf("t=%v led %s: pattern since %v, want %v", now, hw.LED(i), snap[i].Since, t0.Add(since[i]))
			}
			if now > 0 && got != prev[i] {
				toggles++
			}
			prev[i] = got
		}
	}
	if step != len(script) {
		t.Fatalf("script not played to the end: %d of %d", step, len(script))
	}
	if toggles < 50 {
		t.Fatalf("only %d level changes over the script: the patterns did not blink", toggles)
	}

	stop()
	for i, p := range pins {
		if got, dark := p.Read(), gpio.Level(hw.LED(i) == hw.LEDReady); got != dark {
			t.Errorf("after stop, led %s pin %s, want dark (%s)", hw.LED(i), got, dark)
		}
	}
	for _, s := range panel.Snapshot() {
		if s.Lit || s.Pattern != "off" {
			t.Errorf("after stop, snapshot %+v, want off", s)
		}
	}
	if !strings.Contains(logs.String(), "led pattern") || !strings.Contains(logs.String(), "pattern=heartbeat") {
		t.Errorf("pattern changes not logged:\n%s", logs.String())
	}
}

func TestPanelRunTwice(t *testing.T) {
	clk := hwtest.NewClock(time.Unix(0, 0))
	var logs syncBuffer
	panel, stop := startPanel(t, [hw.NumLEDs]hw.Output{}, clk, newLogger(&logs))
	defer stop()
	if err := panel.Run(context.Background()); err == nil {
		t.Fatal("second Run succeeded")
	}
}

func TestPatternsMatchDocTable(t *testing.T) {
	// Lit must follow the doc.go timings over several cycles for every pattern.
	pats := []hw.Pattern{{Kind: hw.Off}, {Kind: hw.Steady}, {Kind: hw.Blink}, {Kind: hw.FastBlink}, {Kind: hw.Heartbeat}}
	for n := 1; n <= 8; n++ {
		pats = append(pats, hw.WaitingPattern(n))
	}
	for _, p := range pats {
		for el := time.Duration(0); el < 5*time.Second; el += 5 * time.Millisecond {
			if got, want := p.Lit(el), specLit(t, p.String(), el); got != want {
				t.Fatalf("%s at %v: lit %v, want %v", p, el, got, want)
			}
		}
	}
	if hw.WaitingPattern(6) != hw.WaitingPattern(5) {
		t.Fatal("waiting(6) differs from waiting(5): the pattern would restart")
	}
}

func TestAlarmString(t *testing.T) {
	a := hw.AlarmDiskLow | hw.AlarmRecordingFailing
	if got := a.String(); got != "disk_low,recording_failing" {
		t.Fatalf("got %q", got)
	}
	if got := hw.Alarm(0).String(); got != "none" {
		t.Fatalf("got %q", got)
	}
}
