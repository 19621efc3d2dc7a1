package callerid

import (
	"fmt"
	"time"

	"github.com/ringside/ringside/telephony/dsp"
)

// Signal timing a caller-ID transmitter uses.
const (
	// SeizureBits is the channel-seizure signal: 300 alternating bits (GR-30 section 3.2.1,
	// EN 300 659-1 clause 6.1.2; ETSI omits it when caller ID follows a polarity reversal only
	// on some networks, so decoders must not need it).
	SeizureBits = 300
	// MarkBits is the mark signal before the message: 180 bits (GR-30; ETSI requires 80 +/- 25).
	MarkBits = 180
	// DefaultLevelDBm0 is a typical sending level (GR-30: -13.5 dBm at the exchange).
	DefaultLevelDBm0 = -13.5
)

// FSKSignal returns samples an exchange would send for frame in std's FSK (Bell202 or V23):
// seizure bits (alternating, starting with space), mark bits, the frame, and a few trailing
// mark bits, at levelDBm0.
func FSKSignal(std Standard, frame []byte, seizureBits, markBits int, levelDBm0 float64) ([]int16, error) {
	var mode dsp.FSKMode
	switch std {
	case Bell202:
		mode = dsp.Bell202()
	case V23:
		mode = dsp.V23()
	default:
		return nil, fmt.Errorf("FSK signal for %v: %w", std, ErrStandard)
	}
	m := dsp.NewFSKModulator(mode, levelDBm0)
	var s []int16
	for i := range seizureBits {
		s = m.AppendBit(s, i%2 == 1)
	}
	s = m.AppendMark(s, markBits)
	s = m.AppendBytes(s, frame)
	return m.AppendMark(s, 4), nil
}

// DTMFSignal returns the DTMF CLIP signal for r: each key on for 70 ms and off for 70 ms (both
// above the 50 ms minimum) at levelDBm0 per tone.
func DTMFSignal(r Result, levelDBm0 float64) ([]int16, error) {
	s, err := FormatDTMF(r)
	if err != nil {
		return nil, err
	}
	return dsp.AppendDTMF(nil, s, 70*time.Millisecond, 70*time.Millisecond, levelDBm0)
}
