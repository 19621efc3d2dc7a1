//go:build !cgo

package hw

import "log/slog"

func fxoSupported() error { return ErrNoCgo }

func openFXOAudio(FXOConfig, *sampleRing, *sampleRing, *slog.Logger) (fxoAudio, error) {
	return nil, ErrNoCgo
}
