//go:build cgo

package hw

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"strings"

	"github.com/gen2brain/malgo"
)

func fxoSupported() error { return nil }

// malgoAudio is a full-duplex miniaudio device: 16-bit mono at the configured rate. Its Data
// callback runs on miniaudio's audio thread: it only copies samples between the device buffers
// and the lock-free rings, never blocks and never allocates.
type malgoAudio struct {
	ctx     *malgo.AllocatedContext
	dev     *malgo.Device
	ids     []malgo.DeviceInfo // keeps the chosen devices' ids alive while the device is open
	in, out *sampleRing
	scratch []int16 // owned by the callback
	sr      int
}

// nullBackend is miniaudio's null device. malgo v0.11.24's BackendNull constant is one less than
// the C enum's value (13 against 14), which fails with "No backend"; see docs/libraries.md.
const nullBackend = malgo.Backend(malgo.BackendNull + 1)

func openFXOAudio(cfg FXOConfig, in, out *sampleRing, log *slog.Logger) (fxoAudio, error) {
	var backends []malgo.Backend
	if cfg.NullDevice {
		backends = []malgo.Backend{nullBackend}
	}
	ctx, err := malgo.InitContext(backends, malgo.ContextConfig{}, nil)
	if err != nil {
		return nil, fmt.Errorf("hw: fxo audio context: %w", err)
	}
	a := &malgoAudio{ctx: ctx, in: in, out: out, scratch: make([]int16, 4096)}
	dc := malgo.DefaultDeviceConfig(malgo.Duplex)
	dc.Capture.Format, dc.Capture.Channels = malgo.FormatS16, 1
	dc.Playback.Format, dc.Playback.Channels = malgo.FormatS16, 1
	dc.SampleRate = uint32(cfg.DeviceRate)
	dc.PeriodSizeInMilliseconds = 20
	if cfg.Device != "" {
		for _, kind := range []malgo.DeviceType{malgo.Capture, malgo.Playback} {
			infos, err := ctx.Devices(kind)
			if err != nil {
				a.close()
				return nil, fmt.Errorf("hw: fxo audio devices: %w", err)
			}
			found := false
			for _, info := range infos {
				if strings.Contains(info.Name(), cfg.Device) {
					a.ids = append(a.ids, info)
					found = true
					break
				}
			}
			if !found {
				a.close()
				return nil, fmt.Errorf("%w: fxo: no sound device named like %q", ErrConfig, cfg.Device)
			}
		}
		dc.Capture.DeviceID = a.ids[0].ID.Pointer()
		dc.Playback.DeviceID = a.ids[1].ID.Pointer()
	}
	dev, err := malgo.InitDevice(ctx.Context, dc, malgo.DeviceCallbacks{Data: a.data})
	if err != nil {
		a.close()
		return nil, fmt.Errorf("hw: fxo audio device: %w", err)
	}
	a.dev, a.sr = dev, int(dev.SampleRate())
	if err := dev.Start(); err != nil {
		a.close()
		return nil, fmt.Errorf("hw: fxo audio start: %w", err)
	}
	log.Info("fxo sound device open", "rate", a.sr, "null", cfg.NullDevice)
	return a, nil
}

// data is the audio thread: line audio in, our audio out, 16-bit little-endian mono.
func (a *malgoAudio) data(outBytes, inBytes []byte, frames uint32) {
	for len(inBytes) >= 2 {
		n := min(len(inBytes)/2, len(a.scratch))
		for i := range n {
			a.scratch[i] = int16(binary.LittleEndian.Uint16(inBytes[2*i:]))
		}
		a.in.write(a.scratch[:n])
		inBytes = inBytes[2*n:]
	}
	for len(outBytes) >= 2 {
		n := min(len(outBytes)/2, len(a.scratch))
		got := a.out.read(a.scratch[:n])
		clear(a.scratch[got:n]) // underrun: silence
		for i := range n {
			binary.LittleEndian.PutUint16(outBytes[2*i:], uint16(a.scratch[i]))
		}
		outBytes = outBytes[2*n:]
	}
}

func (a *malgoAudio) rate() int { return a.sr }

func (a *malgoAudio) close() error {
	if a.dev != nil {
		_ = a.dev.Stop()
		a.dev.Uninit()
		a.dev = nil
	}
	if a.ctx != nil {
		err := a.ctx.Uninit()
		a.ctx.Free()
		a.ctx = nil
		return err
	}
	return nil
}
