package hw_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/ringside/ringside/hw"
	"github.com/ringside/ringside/hw/hwtest"
)

func TestOpenGPIONoSuchLine(t *testing.T) {
	_, err := hw.OpenGPIO(hw.Config{Alarm: hw.PinConfig{Name: "RINGSIDE_TEST_NO_SUCH_LINE"}})
	if !errors.Is(err, hw.ErrNoGPIO) {
		t.Fatalf("got %v, want ErrNoGPIO", err)
	}
	if !strings.Contains(err.Error(), "RINGSIDE_TEST_NO_SUCH_LINE") || !strings.Contains(err.Error(), "leds.alarm.pin") {
		t.Fatalf("error does not name the pin and its key: %v", err)
	}
	_, err = hw.OpenGPIO(hw.Config{Button: hw.PinConfig{Name: "RINGSIDE_TEST_NO_BUTTON"}})
	if !errors.Is(err, hw.ErrNoGPIO) || !strings.Contains(err.Error(), "button.pin") {
		t.Fatalf("button: got %v", err)
	}
}

// TestOpenGPIORegistered goes through host.Init and gpioreg for real, with
// gpiotest pins registered under names no board uses.
func TestOpenGPIORegistered(t *testing.T) {
	names := []string{"RSTEST_READY", "RSTEST_CALLS", "RSTEST_BUTTON"}
	pins := map[string]*gpiotest.Pin{}
	for i, n := range names {
		p := &gpiotest.Pin{N: n, Num: 9000 + i}
		if err := gpioreg.Register(p); err != nil {
			t.Fatal(err)
		}
		pins[n] = p
		t.Cleanup(func() { _ = gpioreg.Unregister(n) })
	}
	b, err := hw.OpenGPIO(hw.Config{
		Ready:  hw.PinConfig{Name: "RSTEST_READY", ActiveLow: true},
		Calls:  hw.PinConfig{Name: "RSTEST_CALLS"},
		Button: hw.PinConfig{Name: "RSTEST_BUTTON", ActiveLow: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if b.Simulated || b.Button == nil || b.LEDs[hw.LEDAlarm].Pin != nil || !b.LEDs[hw.LEDReady].ActiveLow {
		t.Fatalf("board %+v", b)
	}
	clk := hwtest.NewClock(time.Unix(0, 0))
	var logs syncBuffer
	panel, stop := startPanel(t, b.LEDs, clk, newLogger(&logs))
	panel.Set(hw.State{Ready: true, InProgress: 1})
	clk.Advance(hw.Tick)
	panel.Snapshot()
	if got := pins["RSTEST_READY"].Read(); got != gpio.Low {
		t.Errorf("ready (active low, steady): %s", got)
	}
	if got := pins["RSTEST_CALLS"].Read(); got != gpio.High {
		t.Errorf("calls (steady): %s", got)
	}
	stop()
	if pins["RSTEST_READY"].Read() != gpio.High || pins["RSTEST_CALLS"].Read() != gpio.Low {
		t.Error("LEDs not dark after stop")
	}
}

func TestSimulatedBoard(t *testing.T) {
	var logs syncBuffer
	log := newLogger(&logs)
	b := hw.SimulatedBoard(hw.Config{Ready: hw.PinConfig{Name: "GPIO17"}, Alarm: hw.PinConfig{Name: "GPIO22", ActiveLow: true}}, log)
	if !b.Simulated || b.Button == nil {
		t.Fatalf("board %+v", b)
	}
	clk := hwtest.NewClock(time.Unix(0, 0))
	panel, stop := startPanel(t, b.LEDs, clk, log)
	defer stop()
	panel.Set(hw.State{Ready: true, Alarms: hw.AlarmDiskLow, Acknowledged: hw.AlarmDiskLow})
	clk.Advance(hw.Tick)
	snap := panel.Snapshot()
	if snap[hw.LEDReady].Pattern != "steady" || !snap[hw.LEDReady].Lit || snap[hw.LEDAlarm].Pattern != "steady" {
		t.Fatalf("snapshot %+v", snap)
	}
	ready := b.LEDs[hw.LEDReady].Pin.(*hw.SimPin)
	alarm := b.LEDs[hw.LEDAlarm].Pin.(*hw.SimPin)
	if ready.Level() != gpio.High || alarm.Level() != gpio.Low {
		t.Fatalf("sim levels ready %s alarm %s", ready.Level(), alarm.Level())
	}
	out := logs.String()
	for _, want := range []string{"led=ready pattern=steady", "led=alarm pattern=steady", "alarms=disk_low", "simulated gpio", "pin=GPIO17"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}

	// The simulated button works with a real Button.
	sb := b.Button.(*hw.SimButton)
	presses := make(chan hw.Press, 2)
	btn, err := hw.NewButton(sb, hw.ButtonConfig{}, hw.SystemClock(), log, func(p hw.Press) { presses <- p })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := contextWithCancel()
	done := make(chan error, 1)
	go func() { done <- btn.Run(ctx) }()
	time.Sleep(200 * time.Millisecond) // let Run sample the released button first
	sb.Press()
	time.Sleep(400 * time.Millisecond) // well past the 30 ms debounce, well short of 2 s
	sb.Release()
	select {
	case p := <-presses:
		if p != hw.ShortPress {
			t.Fatalf("got %v", p)
		}
	case <-time.After(liveness):
		t.Fatal("no press from the simulated button")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
