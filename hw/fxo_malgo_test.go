//go:build cgo

package hw

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

func fxoPins() (ring, hook *gpiotest.Pin) {
	return &gpiotest.Pin{N: "RING", L: gpio.High, EdgesChan: make(chan gpio.Level, 64)}, &gpiotest.Pin{N: "HOOK", L: gpio.Low}
}

// TestFXOLineNullDevice runs the real audio path (malgo, miniaudio's null backend, the lock-free
// rings and, at 48 kHz, the resampler) with gpiotest pins for ring and hook.
func TestFXOLineNullDevice(t *testing.T) {
	t.Parallel()
	for _, rate := range []int{8000, 48000} {
		ring, hook := fxoPins()
		l, err := OpenFXOLine(FXOConfig{Ring: ring, RingActiveLow: true, Hook: hook, HookActiveLow: true, NullDevice: true, DeviceRate: rate},
			SystemClock(), slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("%d Hz: %v", rate, err)
		}
		if l.Rate() != rate {
			t.Errorf("device rate %d, want %d", l.Rate(), rate)
		}
		if hook.Read() != gpio.High {
			t.Error("the line did not start on hook (active-low relay should be high)")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		frame := make([]int16, 160)
		for i := range 25 { // half a second of audio
			if err := l.ReadFrame(ctx, frame); err != nil {
				t.Fatalf("%d Hz: frame %d: %v", rate, i, err)
			}
			for _, v := range frame {
				if v != 0 {
					t.Fatalf("%d Hz: the null device captured %d, want silence", rate, v)
				}
			}
		}
		// Playback: the callback drains what we queue.
		if err := l.SetHook(true); err != nil || hook.Read() != gpio.Low {
			t.Errorf("off hook: %v, relay %v", err, hook.Read())
		}
		for range 10 {
			_ = l.WriteFrame(frame)
		}
		// Everything written reached the ring, less the resampler's lag (half its kernel).
		if queued, want := int(l.out.head.Load()), 10*160*rate/8000; queued < want-200 || queued > want {
			t.Errorf("%d Hz: %d samples queued after 10 frames, want about %d", rate, queued, want)
		}
		for l.out.len() > 0 && ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
		}
		if ctx.Err() != nil {
			t.Errorf("%d Hz: the audio callback never drained the playback ring", rate)
		}
		cancel()
		if err := l.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if hook.Read() != gpio.High {
			t.Error("Close left the line off hook")
		}
	}
}

// TestFXORingDetector: an opto-coupler toggling at 20 Hz during a 400 ms ring is one burst, which
// ends RingHold after its last edge.
func TestFXORingDetector(t *testing.T) {
	t.Parallel()
	ring, hook := fxoPins()
	l, err := OpenFXOLine(FXOConfig{Ring: ring, RingActiveLow: true, Hook: hook, NullDevice: true}, SystemClock(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if on, _ := l.Ringing(); on {
		t.Fatal("ringing before any edge")
	}
	start := time.Now()
	var lastEdge time.Time
	sawOn, offDuring := false, false
	for i := range 16 { // 16 edges 25 ms apart: 20 Hz, 400 ms
		ring.EdgesChan <- gpio.Level(i%2 == 1)
		lastEdge = time.Now()
		time.Sleep(25 * time.Millisecond)
		on, since := l.Ringing()
		sawOn = sawOn || on
		offDuring = offDuring || (i > 2 && !on)
		if on && since.Before(start) {
			t.Errorf("ring began at %v, before the first edge", since)
		}
	}
	ring.EdgesChan <- gpio.High // detector released
	if !sawOn || offDuring {
		t.Errorf("ringing seen %v, dropped during the burst %v", sawOn, offDuring)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		on, since := l.Ringing()
		if !on {
			if since.Before(lastEdge) || since.Sub(lastEdge) > 200*time.Millisecond {
				t.Errorf("ring ended at %v, want at its last edge %v", since, lastEdge)
			}
			if time.Since(lastEdge) < DefaultFXORingHold {
				t.Errorf("ring ended %v after the last edge, before the %v hold", time.Since(lastEdge), DefaultFXORingHold)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("ringing never ended")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFXOSupportedWithCgo(t *testing.T) {
	if err := FXOSupported(); err != nil {
		t.Errorf("cgo build: %v", err)
	}
}
