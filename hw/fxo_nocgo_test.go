//go:build !cgo

package hw

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

func TestFXOWithoutCgo(t *testing.T) {
	if err := FXOSupported(); !errors.Is(err, ErrNoCgo) || !strings.Contains(err.Error(), "CGO_ENABLED=1") {
		t.Errorf("FXOSupported: %v", err)
	}
	ring := &gpiotest.Pin{N: "RING", EdgesChan: make(chan gpio.Level, 1)}
	_, err := OpenFXOLine(FXOConfig{Ring: ring, Hook: &gpiotest.Pin{N: "HOOK"}}, SystemClock(), slog.New(slog.DiscardHandler))
	if !errors.Is(err, ErrNoCgo) {
		t.Errorf("OpenFXOLine: %v, want ErrNoCgo", err)
	}
}
