package hw_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/ringside/ringside/hw"
	"github.com/ringside/ringside/hw/hwtest"
)

// Real-time waits in these tests are liveness bounds only: nothing asserts
// how fast anything happens.
const liveness = 10 * time.Second

// testButtonConfig keeps the real-time edge waits short; the debounce and
// long-press times run on the fake clock.
var testButtonConfig = hw.ButtonConfig{ActiveLow: true, Poll: time.Millisecond, Idle: 5 * time.Millisecond}

type buttonRig struct {
	t       *testing.T
	pin     *gpiotest.Pin
	clk     *hwtest.Clock
	presses chan hw.Press
	stop    func()
}

func startButton(t *testing.T, clk *hwtest.Clock, onPress func(hw.Press)) *buttonRig {
	t.Helper()
	r := &buttonRig{t: t, clk: clk, presses: make(chan hw.Press, 16),
		pin: &gpiotest.Pin{N: "BUTTON", EdgesChan: make(chan gpio.Level, 16)}}
	if onPress == nil {
		onPress = func(p hw.Press) { r.presses <- p }
	}
	var logs syncBuffer
	b, err := hw.NewButton(r.pin, testButtonConfig, clk, newLogger(&logs), onPress)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	// Run sets the pull-up (and flushes pending edges) first: wait for it.
	deadline := time.Now().Add(liveness)
	pull := func() gpio.Pull { // gpiotest's Pull() reads without its lock
		r.pin.Lock()
		defer r.pin.Unlock()
		return r.pin.P
	}
	for pull() != gpio.PullUp {
		if time.Now().After(deadline) {
			t.Fatal("button never set up its pin")
		}
		time.Sleep(time.Millisecond)
	}
	r.stop = func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("button Run: %v", err)
			}
		case <-time.After(liveness):
			t.Fatal("button Run did not return after cancel")
		}
	}
	t.Cleanup(r.stop)
	return r
}

func (r *buttonRig) down() { r.pin.EdgesChan <- gpio.Low }
func (r *buttonRig) up()   { r.pin.EdgesChan <- gpio.High }

// hold advances the fake clock by d in 5 ms steps, giving the button
// goroutine real time to sample after each step.
func (r *buttonRig) hold(d time.Duration) {
	for el := time.Duration(0); el < d; el += 5 * time.Millisecond {
		r.clk.Advance(5 * time.Millisecond)
		time.Sleep(2 * time.Millisecond)
	}
}

// next returns the next press, stepping the clock until one comes (at most
// limit of fake time).
func (r *buttonRig) next(limit time.Duration) (hw.Press, bool) {
	for el := time.Duration(0); el <= limit; el += 5 * time.Millisecond {
		select {
		case p := <-r.presses:
			return p, true
		default:
		}
		r.clk.Advance(5 * time.Millisecond)
		time.Sleep(2 * time.Millisecond)
	}
	return 0, false
}

func (r *buttonRig) none(d time.Duration) {
	r.t.Helper()
	r.hold(d)
	select {
	case p := <-r.presses:
		r.t.Fatalf("unexpected %v press", p)
	default:
	}
}

func TestButtonShortAndLong(t *testing.T) {
	r := startButton(t, hwtest.NewClock(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)), nil)

	// A short press with contact bounce on both edges: one ShortPress.
	r.down()
	r.hold(5 * time.Millisecond)
	r.up()
	r.hold(5 * time.Millisecond)
	r.down()
	r.none(300 * time.Millisecond) // held 0.3 s: nothing yet, it is reported on release
	r.up()
	r.hold(5 * time.Millisecond)
	r.down()
	r.hold(5 * time.Millisecond)
	r.up()
	if p, ok := r.next(time.Second); !ok || p != hw.ShortPress {
		t.Fatalf("short press: got %v %v", p, ok)
	}
	r.none(500 * time.Millisecond)

	// A long press is reported while still held, once, at >= 2 s.
	r.down()
	pressedAt := r.clk.Now()
	p, ok := r.next(3 * time.Second)
	if !ok || p != hw.LongPress {
		t.Fatalf("long press: got %v %v", p, ok)
	}
	if held := r.clk.Now().Sub(pressedAt); held < hw.DefaultLongPress {
		t.Fatalf("long press reported after %v held, before %v", held, hw.DefaultLongPress)
	}
	r.none(time.Second)
	r.up()
	r.none(500 * time.Millisecond)
}

// TestButtonTogglesNightMode is the done-when: presses on a
// gpiotest pin toggle night mode, which the panel shows on the ready LED;
// a long press acknowledges the alarm.
func TestButtonTogglesNightMode(t *testing.T) {
	clk := hwtest.NewClock(time.Date(2026, 11, 22, 18, 0, 0, 0, time.UTC))
	var logs syncBuffer
	readyPin := &gpiotest.Pin{N: "READY"}
	alarmPin := &gpiotest.Pin{N: "ALARM"}
	panel, stopPanel := startPanel(t, [hw.NumLEDs]hw.Output{hw.LEDReady: {Pin: readyPin}, hw.LEDAlarm: {Pin: alarmPin}}, clk, newLogger(&logs))
	defer stopPanel()

	// The caller's side, as edge will do it: presses arrive on a channel,
	// the caller owns the state and hands it to the panel.
	state := hw.State{Ready: true, Alarms: hw.AlarmRegistrationLost}
	panel.Set(state)
	r := startButton(t, clk, nil)

	ledPattern := func(l hw.LED) string {
		r.hold(hw.Tick)
		return panel.Snapshot()[l].Pattern
	}
	if got := ledPattern(hw.LEDReady); got != "steady" {
		t.Fatalf("day mode: ready %s", got)
	}
	if got := ledPattern(hw.LEDAlarm); got != "fast_blink" {
		t.Fatalf("alarm: %s", got)
	}
	press := func(d time.Duration) hw.Press {
		t.Helper()
		r.down()
		r.hold(d)
		r.up()
		p, ok := r.next(time.Second)
		if !ok {
			t.Fatalf("no press after holding %v", d)
		}
		switch p {
		case hw.ShortPress:
			state.Night = !state.Night
		case hw.LongPress:
			state.Acknowledged = state.Alarms
		}
		panel.Set(state)
		return p
	}

	for i, want := range []string{"heartbeat", "steady", "heartbeat"} {
		if p := press(150 * time.Millisecond); p != hw.ShortPress {
			t.Fatalf("press %d: %v", i, p)
		}
		if got := ledPattern(hw.LEDReady); got != want {
			t.Fatalf("after short press %d: ready %s, want %s", i+1, got, want)
		}
		if !state.Night != (want == "steady") {
			t.Fatalf("night mode %v after press %d", state.Night, i+1)
		}
	}
	if p := press(2500 * time.Millisecond); p != hw.LongPress {
		t.Fatalf("long press: %v", p)
	}
	if got := ledPattern(hw.LEDAlarm); got != "steady" {
		t.Fatalf("after long press: alarm %s, want steady", got)
	}
	if !state.Night {
		t.Fatal("a long press changed night mode")
	}
	if snap := panel.Snapshot()[hw.LEDReady]; readyPin.Read() != gpio.Level(snap.Lit) {
		t.Fatalf("ready pin %s, snapshot says %+v", readyPin.Read(), snap)
	}
}

func TestButtonPollsWithoutEdges(t *testing.T) {
	// A pin without EdgesChan refuses edge detection: the button polls on
	// the clock's ticker instead.
	clk := hwtest.NewClock(time.Unix(1000, 0))
	pin := &gpiotest.Pin{N: "NOEDGE"}
	presses := make(chan hw.Press, 4)
	var logs syncBuffer
	b, err := hw.NewButton(pin, hw.ButtonConfig{ActiveLow: false}, clk, newLogger(&logs), func(p hw.Press) { presses <- p })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	deadline := time.Now().Add(liveness)
	for clk.Tickers() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no polling ticker")
		}
		time.Sleep(time.Millisecond)
	}
	// The ticker exists before Run samples the pin's starting level; a press
	// begun before that sample would count as a button held at start (and
	// be ignored). A tick taken proves Run is past it, in its polling loop.
	if !clk.Advance(hw.DefaultPoll) {
		t.Fatal("first tick not taken")
	}
	pin.Out(gpio.High) // active-high button pressed
	if !clk.Advance(200 * time.Millisecond) {
		t.Fatal("a tick was not taken while pressed")
	}
	pin.Out(gpio.Low)
	if !clk.Advance(100 * time.Millisecond) {
		t.Fatal("a tick was not taken after release")
	}
	select {
	case p := <-presses:
		if p != hw.ShortPress {
			t.Fatalf("got %v", p)
		}
	case <-time.After(liveness):
		t.Fatal("no press seen by polling")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestButtonConfigRejected(t *testing.T) {
	var logs syncBuffer
	_, err := hw.NewButton(&gpiotest.Pin{}, hw.ButtonConfig{LongPress: 10 * time.Millisecond}, hw.SystemClock(), newLogger(&logs), nil)
	if !errors.Is(err, hw.ErrConfig) {
		t.Fatalf("long press shorter than debounce: %v", err)
	}
}

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}
