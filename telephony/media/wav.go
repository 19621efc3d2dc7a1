package media

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/ringside/ringside/telephony/g711"
)

// maxWAV bounds the files we load: ten minutes of 8 kHz 16-bit audio.
const maxWAV = 10 * 60 * 8000 * 2

// Clip is a piece of audio ready to play in either law.
type Clip struct {
	ulaw, alaw []byte
}

// Bytes returns the clip encoded in codec (8000 bytes a second).
func (c *Clip) Bytes(codec g711.Codec) []byte {
	if codec == g711.PCMA {
		return c.alaw
	}
	return c.ulaw
}

// NewClip encodes linear 8 kHz samples in both laws.
func NewClip(samples []int16) *Clip {
	return &Clip{ulaw: g711.PCMU.Encode(nil, samples), alaw: g711.PCMA.Encode(nil, samples)}
}

// LoadWAV reads an 8 kHz mono WAV file: PCM 16-bit, mu-law or A-law.
func LoadWAV(path string) (*Clip, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("media: open WAV: %w", err)
	}
	defer f.Close()
	return ReadWAV(io.LimitReader(f, maxWAV+4096))
}

// ReadWAV parses a RIFF WAVE stream (see LoadWAV).
func ReadWAV(r io.Reader) (*Clip, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWAV, err)
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%w: not RIFF/WAVE", ErrWAV)
	}
	var format, channels, bits uint16
	var rate uint32
	haveFmt := false
	for range 64 { // a WAV has a handful of chunks; bound the walk
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			return nil, fmt.Errorf("%w: no data chunk: %w", ErrWAV, err)
		}
		size := binary.LittleEndian.Uint32(ch[4:8])
		if size > maxWAV {
			return nil, fmt.Errorf("%w: chunk of %d bytes", ErrWAV, size)
		}
		switch string(ch[0:4]) {
		case "fmt ":
			if size < 16 {
				return nil, fmt.Errorf("%w: short fmt chunk", ErrWAV)
			}
			b := make([]byte, size+size%2)
			if _, err := io.ReadFull(r, b); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrWAV, err)
			}
			format = binary.LittleEndian.Uint16(b[0:2])
			channels = binary.LittleEndian.Uint16(b[2:4])
			rate = binary.LittleEndian.Uint32(b[4:8])
			bits = binary.LittleEndian.Uint16(b[14:16])
			if format == 0xFFFE && size >= 26 { // WAVE_FORMAT_EXTENSIBLE: the sub-format GUID starts with the tag
				format = binary.LittleEndian.Uint16(b[24:26])
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, fmt.Errorf("%w: data before fmt", ErrWAV)
			}
			if channels != 1 || rate != 8000 {
				return nil, fmt.Errorf("%w: %d channels at %d Hz (want mono 8000 Hz)", ErrWAV, channels, rate)
			}
			b := make([]byte, size)
			n, err := io.ReadFull(r, b)
			if err != nil && err != io.ErrUnexpectedEOF {
				return nil, fmt.Errorf("%w: %w", ErrWAV, err)
			}
			b = b[:n]
			switch {
			case format == 1 && bits == 16:
				s := make([]int16, len(b)/2)
				for i := range s {
					s[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
				}
				return NewClip(s), nil
			case format == 7 && bits == 8: // mu-law: kept as is, transcoded only for A-law calls
				return &Clip{ulaw: b, alaw: g711.PCMA.Encode(nil, g711.PCMU.Decode(nil, b))}, nil
			case format == 6 && bits == 8: // A-law
				return &Clip{alaw: b, ulaw: g711.PCMU.Encode(nil, g711.PCMA.Decode(nil, b))}, nil
			}
			return nil, fmt.Errorf("%w: format %d with %d bits", ErrWAV, format, bits)
		default:
			if _, err := io.CopyN(io.Discard, r, int64(size+size%2)); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrWAV, err)
			}
		}
	}
	return nil, fmt.Errorf("%w: too many chunks", ErrWAV)
}

// DefaultTune is the built-in hold music: a calm eight-bar arpeggio of soft sine tones with
// attack/release envelopes, generated rather than shipped so there is no licence to track.
func DefaultTune() *Clip {
	// C major / A minor / F major / G major, four notes per chord, 300 ms a note.
	notes := []float64{
		261.63, 329.63, 392.00, 523.25, 220.00, 261.63, 329.63, 440.00,
		174.61, 220.00, 261.63, 349.23, 196.00, 246.94, 293.66, 392.00,
	}
	const rate, noteLen, amp = 8000, 2400, 6000.0
	s := make([]int16, 0, 2*len(notes)*noteLen)
	for rep := range 2 {
		for _, f := range notes {
			if rep == 1 {
				f /= 2 // second pass an octave lower
			}
			for i := range noteLen {
				env := 1.0
				if i < 160 {
					env = float64(i) / 160
				} else if i > noteLen-800 {
					env = float64(noteLen-i) / 800
				}
				t := float64(i) / rate
				v := amp * env * (math.Sin(2*math.Pi*f*t) + 0.3*math.Sin(4*math.Pi*f*t)) / 1.3
				s = append(s, int16(v))
			}
		}
	}
	return NewClip(s)
}
