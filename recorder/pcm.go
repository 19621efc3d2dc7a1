package recorder

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Decode tables for G.711 (ITU-T G.711 tables 1a and 2a), built once and never written again.
// recorder keeps its own copy so it does not depend on telephony.
var (
	ulawPCM = buildTable(decodeUlaw)
	alawPCM = buildTable(decodeAlaw)
)

func buildTable(f func(byte) int16) (t [256]int16) {
	for i := range t {
		t[i] = f(byte(i))
	}
	return t
}

// decodeUlaw expands a mu-law code: complement, then (mantissa*2 + 33) << exponent, minus the 33
// bias, times 4 (16-bit scale).
func decodeUlaw(u byte) int16 {
	u = ^u
	exp := (u >> 4) & 7
	mag := ((int32(u&0x0f)<<3)+0x84)<<exp - 0x84
	if u&0x80 != 0 {
		return int16(-mag)
	}
	return int16(mag)
}

// decodeAlaw expands an A-law code: undo the even-bit inversion, then segment and mantissa.
func decodeAlaw(a byte) int16 {
	a ^= 0x55
	exp := (a >> 4) & 7
	mag := int32(a&0x0f)<<4 + 8
	if exp > 0 {
		mag = (mag + 0x100) << (exp - 1)
	}
	if a&0x80 != 0 {
		return int16(mag)
	}
	return int16(-mag)
}

const pcmHeaderBytes = 44

// PCM presents a G.711 recording as a 16-bit PCM WAV, converting on the fly from the file as it is
// read; it holds one small buffer, never the recording. It is an io.ReadSeeker for http.ServeContent.
type PCM struct {
	f       *os.File
	info    wavInfo
	table   *[256]int16
	hdr     [pcmHeaderBytes]byte
	srcLen  int64 // G.711 data bytes
	size    int64
	off     int64
	modTime time.Time
	src     [4096]byte
}

// OpenPCM opens a recording (A-law or mu-law WAV) for reading as PCM.
func OpenPCM(path string) (*PCM, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("recorder: open %s: %w", path, err)
	}
	p, err := newPCM(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("recorder: %s: %w", path, err)
	}
	return p, nil
}

func newPCM(f *os.File) (*PCM, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	var hb [maxHeader]byte
	n, err := f.ReadAt(hb[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	info, err := parseHeader(hb[:n])
	if err != nil {
		return nil, err
	}
	p := &PCM{f: f, info: info, modTime: st.ModTime(), table: &ulawPCM}
	if Codec(info.Format) == Alaw {
		p.table = &alawPCM
	}
	// Trust the header only as far as the file goes (an in-progress file may be shorter or longer).
	p.srcLen = min(info.DataSize, st.Size()-info.DataOffset)
	p.srcLen -= p.srcLen % int64(info.BlockAlign)
	if p.srcLen < 0 {
		p.srcLen = 0
	}
	if 2*p.srcLen > 0xffffffff-pcmHeaderBytes {
		return nil, fmt.Errorf("%w: too long for a PCM WAV", ErrNotRecording)
	}
	p.size = pcmHeaderBytes + 2*p.srcLen
	le := binary.LittleEndian
	h := p.hdr[:]
	ch, rate := uint32(info.Channels), info.Rate
	copy(h[0:], "RIFF")
	le.PutUint32(h[4:], uint32(p.size-8))
	copy(h[8:], "WAVE")
	copy(h[12:], "fmt ")
	le.PutUint32(h[16:], 16)
	le.PutUint16(h[20:], wavePCM)
	le.PutUint16(h[22:], uint16(ch))
	le.PutUint32(h[24:], rate)
	le.PutUint32(h[28:], rate*ch*2)
	le.PutUint16(h[32:], uint16(ch*2))
	le.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	le.PutUint32(h[40:], uint32(2*p.srcLen))
	return p, nil
}

// Size is the length of the PCM WAV in bytes.
func (p *PCM) Size() int64 { return p.size }

// Duration is how much audio the recording holds (as far as the file goes).
func (p *PCM) Duration() time.Duration {
	return time.Duration(p.srcLen/int64(p.info.BlockAlign)) * time.Second / sampleRate
}

// ModTime is the recording file's modification time.
func (p *PCM) ModTime() time.Time { return p.modTime }

// Close closes the recording file.
func (p *PCM) Close() error { return p.f.Close() }

// Seek implements io.Seeker.
func (p *PCM) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += p.off
	case io.SeekEnd:
		offset += p.size
	default:
		return 0, fmt.Errorf("recorder: seek whence %d", whence)
	}
	if offset < 0 {
		return 0, fmt.Errorf("recorder: seek to %d", offset)
	}
	p.off = offset
	return offset, nil
}

// Read implements io.Reader.
func (p *PCM) Read(b []byte) (int, error) {
	if p.off >= p.size {
		return 0, io.EOF
	}
	n := 0
	if p.off < pcmHeaderBytes {
		c := copy(b, p.hdr[p.off:])
		n += c
		p.off += int64(c)
	}
	for n < len(b) && p.off < p.size {
		v := p.off - pcmHeaderBytes // offset in the PCM data
		si := v / 2                 // source sample byte
		want := min(int64(len(b)-n+1)/2+1, int64(len(p.src)), p.srcLen-si)
		got, err := p.f.ReadAt(p.src[:want], p.info.DataOffset+si)
		if got == 0 {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return n, fmt.Errorf("recorder: reading recording: %w", err)
		}
		for _, c := range p.src[:got] {
			if n == len(b) {
				break
			}
			s := uint16(p.table[c])
			switch {
			case v&1 == 1: // resuming in the middle of a sample: its high byte
				b[n] = byte(s >> 8)
				n++
				v++
			case n+1 < len(b):
				b[n], b[n+1] = byte(s), byte(s>>8)
				n += 2
				v += 2
			default: // room for the low byte only
				b[n] = byte(s)
				n++
				v++
			}
		}
		p.off = v + pcmHeaderBytes
	}
	return n, nil
}

// ServePCM serves the recording at path as a 16-bit PCM WAV with Range support (http.ServeContent).
// path must come from the call record (Layout.Path), never from the request.
func ServePCM(w http.ResponseWriter, r *http.Request, path string) {
	p, err := OpenPCM(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			http.NotFound(w, r)
			return
		}
		http.Error(w, "recording unreadable", http.StatusInternalServerError)
		return
	}
	defer p.Close()
	w.Header().Set("Content-Type", "audio/wav")
	name := strings.TrimSuffix(filepath.Base(path), PartSuffix)
	http.ServeContent(w, r, name, p.ModTime(), p)
}
