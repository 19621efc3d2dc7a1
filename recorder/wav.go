package recorder

import (
	"encoding/binary"
	"fmt"
)

// Codec is a G.711 law, named by its WAVE format tag (RFC 2361, mmreg.h).
type Codec uint16

// The two G.711 laws.
const (
	Alaw Codec = 6 // WAVE_FORMAT_ALAW
	Ulaw Codec = 7 // WAVE_FORMAT_MULAW
)

const (
	sampleRate  = 8000 // G.711
	channels    = 2    // caller left, agent right
	frameBytes  = channels
	headerBytes = 58 // RIFF + fmt (18) + fact + data headers
	maxHeader   = 4096
	maxChunks   = 64
	wavePCM     = 1
)

// Silence returns the code of a zero sample: 0xFF in mu-law, 0xD5 in A-law (G.711 tables 1a, 2a).
func (c Codec) Silence() byte {
	if c == Alaw {
		return 0xD5
	}
	return 0xFF
}

func (c Codec) valid() bool { return c == Alaw || c == Ulaw }

// header builds the 58-byte header of a G.711 stereo WAV holding frames sample frames. For a
// non-PCM format the fmt chunk is a WAVEFORMATEX with cbSize = 0 and a fact chunk gives the number
// of samples per channel (Microsoft "Multimedia Programming Interface and Data Specifications 1.0",
// and its 1994 update for WAVEFORMATEX).
func header(c Codec, frames int64) [headerBytes]byte {
	var h [headerBytes]byte
	le := binary.LittleEndian
	data := uint32(frames * frameBytes)
	copy(h[0:], "RIFF")
	le.PutUint32(h[4:], headerBytes-8+data)
	copy(h[8:], "WAVE")
	copy(h[12:], "fmt ")
	le.PutUint32(h[16:], 18)
	le.PutUint16(h[20:], uint16(c))
	le.PutUint16(h[22:], channels)
	le.PutUint32(h[24:], sampleRate)
	le.PutUint32(h[28:], sampleRate*frameBytes)
	le.PutUint16(h[32:], frameBytes)
	le.PutUint16(h[34:], 8)
	le.PutUint16(h[36:], 0)
	copy(h[38:], "fact")
	le.PutUint32(h[42:], 4)
	le.PutUint32(h[46:], uint32(frames))
	copy(h[50:], "data")
	le.PutUint32(h[54:], data)
	return h
}

// wavInfo is what parseHeader learns from the start of a WAV file.
type wavInfo struct {
	Format     uint16
	Channels   uint16
	Rate       uint32
	Bits       uint16
	BlockAlign uint16
	FactOffset int64 // offset of the fact chunk's sample count, or -1
	DataOffset int64 // first byte of audio
	DataSize   int64 // as declared in the data chunk header
}

// parseHeader reads the RIFF chunk list at the start of a file (at most maxHeader bytes, at most
// maxChunks chunks) up to the data chunk. It accepts 8-bit A-law or mu-law at any rate and 1 or 2
// channels, which covers every file this package writes.
func parseHeader(b []byte) (wavInfo, error) {
	info := wavInfo{FactOffset: -1}
	le := binary.LittleEndian
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return info, fmt.Errorf("%w: no RIFF/WAVE header", ErrNotRecording)
	}
	haveFmt := false
	off := int64(12)
	for i := 0; i < maxChunks; i++ {
		if off+8 > int64(len(b)) {
			return info, fmt.Errorf("%w: no data chunk in the first %d bytes", ErrNotRecording, len(b))
		}
		id := string(b[off : off+4])
		size := int64(le.Uint32(b[off+4:]))
		body := off + 8
		switch id {
		case "fmt ":
			if size < 16 || body+16 > int64(len(b)) {
				return info, fmt.Errorf("%w: short fmt chunk", ErrNotRecording)
			}
			info.Format = le.Uint16(b[body:])
			info.Channels = le.Uint16(b[body+2:])
			info.Rate = le.Uint32(b[body+4:])
			info.BlockAlign = le.Uint16(b[body+12:])
			info.Bits = le.Uint16(b[body+14:])
			haveFmt = true
		case "fact":
			if size >= 4 {
				info.FactOffset = body
			}
		case "data":
			if !haveFmt {
				return info, fmt.Errorf("%w: data before fmt", ErrNotRecording)
			}
			info.DataOffset = body
			info.DataSize = size
			if err := info.check(); err != nil {
				return info, err
			}
			return info, nil
		}
		off = body + size + size&1 // chunks are word aligned
	}
	return info, fmt.Errorf("%w: more than %d chunks before data", ErrNotRecording, maxChunks)
}

func (i wavInfo) check() error {
	if !Codec(i.Format).valid() {
		return fmt.Errorf("%w: format tag %d is not G.711", ErrNotRecording, i.Format)
	}
	if i.Bits != 8 || (i.Channels != 1 && i.Channels != 2) || i.BlockAlign != i.Channels || i.Rate == 0 || i.Rate > 192000 {
		return fmt.Errorf("%w: %d channels, %d bits, block %d, rate %d", ErrNotRecording, i.Channels, i.Bits, i.BlockAlign, i.Rate)
	}
	return nil
}

// CodecForPayloadType maps a static RTP payload type (RFC 3551 table 4: 0 PCMU, 8 PCMA) to the
// file's codec.
func CodecForPayloadType(pt uint8) (Codec, bool) {
	switch pt {
	case 0:
		return Ulaw, true
	case 8:
		return Alaw, true
	}
	return 0, false
}
