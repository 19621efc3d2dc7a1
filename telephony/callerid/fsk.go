package callerid

import (
	"fmt"
	"log/slog"

	"github.com/ringside/ringside/telephony/dsp"
)

// frameRestartIdle is the number of mark bits between two characters after which a frame in
// progress is abandoned and the next character may start a new one. Characters of one frame
// follow each other closely (GR-30 allows at most 10 mark bits between them, EN 300 659-1 a few
// more); the mark signal before a message is 80 to 180 bits.
const frameRestartIdle = 20

// FSKDecoder finds caller-ID frames in a stream of 8 kHz samples: it demodulates Bell 202 or
// V.23 FSK (dsp.FSKReceiver), skips the channel-seizure pattern and the mark signal, assembles
// type, length, message and checksum, and parses the frame. It is not safe for concurrent use;
// use one per line.
type FSKDecoder struct {
	std    Standard
	log    *slog.Logger
	rx     *dsp.FSKReceiver
	events []dsp.FSKEvent
	frame  []byte
}

// NewFSKDecoder returns a decoder for std (Bell202 or V23); minLevelDBm0 of 0 takes
// dsp.DefaultFSKMinLevelDBm0.
func NewFSKDecoder(std Standard, minLevelDBm0 float64, log *slog.Logger) (*FSKDecoder, error) {
	var mode dsp.FSKMode
	switch std {
	case Bell202:
		mode = dsp.Bell202()
	case V23:
		mode = dsp.V23()
	default:
		return nil, fmt.Errorf("FSK decoder for %v: %w", std, ErrStandard)
	}
	return &FSKDecoder{
		std:   std,
		log:   log,
		rx:    dsp.NewFSKReceiver(mode, minLevelDBm0),
		frame: make([]byte, 0, 255+frameOverheadBytes),
	}, nil
}

// Reset forgets all state (call it when the line goes idle).
func (d *FSKDecoder) Reset() {
	d.rx.Reset()
	d.frame = d.frame[:0]
}

// Process consumes samples and appends each caller identity decoded in them to dst. The first
// frame that fails (ErrChecksum, ErrMalformed, ErrNotCallerID) is returned as the error, after
// the good results; decoding goes on either way.
func (d *FSKDecoder) Process(dst []Result, samples []int16) ([]Result, error) {
	var firstErr error
	d.events = d.rx.Process(d.events[:0], samples)
	for _, ev := range d.events {
		switch ev.Kind {
		case dsp.FSKCarrierDown, dsp.FSKFramingError:
			if len(d.frame) > 0 {
				d.log.Debug("caller ID frame abandoned", "standard", d.std.String(),
					"bytes", len(d.frame), "event", ev.Kind)
			}
			d.frame = d.frame[:0]
		case dsp.FSKByte:
			if len(d.frame) > 0 && ev.IdleBits >= frameRestartIdle {
				d.log.Debug("caller ID frame abandoned after a pause", "standard", d.std.String(),
					"bytes", len(d.frame))
				d.frame = d.frame[:0]
			}
			if len(d.frame) == 0 && !knownType(ev.Value) {
				continue // channel seizure (0x55), or noise
			}
			d.frame = append(d.frame, ev.Value)
			if len(d.frame) < 2 || len(d.frame) < int(d.frame[1])+frameOverheadBytes {
				continue
			}
			r, err := ParseFrame(d.std, d.frame)
			d.frame = d.frame[:0]
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			dst = append(dst, r)
		}
	}
	return dst, firstErr
}

// Decode returns the first caller identity in a whole buffer, decoded as std (Bell202, V23 or
// DTMF). Without one it returns the first frame's error, or ErrNoCallerID.
func Decode(std Standard, samples []int16) (Result, error) {
	var (
		res []Result
		err error
	)
	switch std {
	case DTMF:
		res, err = NewDTMFDecoder().Process(nil, samples)
	default:
		d, e := NewFSKDecoder(std, 0, slog.New(slog.DiscardHandler))
		if e != nil {
			return Result{}, e
		}
		res, err = d.Process(nil, samples)
	}
	if len(res) > 0 {
		return res[0], nil
	}
	if err != nil {
		return Result{}, err
	}
	return Result{}, ErrNoCallerID
}
