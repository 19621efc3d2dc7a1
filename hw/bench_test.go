package hw_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/ringside/ringside/hw"
	"github.com/ringside/ringside/hw/hwtest"
)

// BenchmarkPanelTick measures one panel tick (read the state, map it to
// patterns, sample four LEDs, write the changed pins), including the
// hand-over of the tick to the panel goroutine.
func BenchmarkPanelTick(b *testing.B) {
	var leds [hw.NumLEDs]hw.Output
	for i := range leds {
		leds[i] = hw.Output{Pin: &gpiotest.Pin{N: "B"}}
	}
	clk := hwtest.NewClock(time.Unix(0, 0))
	p := hw.NewPanel(leds, clk, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(ctx) }()
	for clk.Tickers() == 0 {
		time.Sleep(time.Millisecond)
	}
	p.Set(hw.State{Ready: true, Waiting: 3, Alarms: hw.AlarmDiskLow, Uplink: hw.UplinkBacklogged})
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		clk.Advance(hw.Tick)
	}
	b.StopTimer()
	cancel()
	<-done
}

func BenchmarkPatternsAndLit(b *testing.B) {
	s := hw.State{Ready: true, Night: true, Waiting: 4, InProgress: 2, Alarms: hw.AlarmBlocked, Uplink: hw.UplinkOffline}
	var el time.Duration
	lit := 0
	b.ReportAllocs()
	for b.Loop() {
		for _, p := range hw.Patterns(s) {
			if p.Lit(el) {
				lit++
			}
		}
		el += hw.Tick
	}
	if lit == 0 {
		b.Fatal("nothing lit")
	}
}
