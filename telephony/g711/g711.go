// Package g711 converts between 16-bit linear PCM and the ITU-T G.711 companded codes, mu-law
// (PCMU, RTP payload type 0) and A-law (PCMA, payload type 8), as specified in ITU-T G.711 (11/88)
// tables 1a and 2a. Decoding uses 256-entry tables built once; encoding is the segment search of
// the reference algorithm, which is as fast as a 64 KiB table on small CPUs and keeps caches warm.
package g711

const (
	ulawBias = 0x84 // 132: the mu-law bias added before the segment search (G.711 table 2a)
	ulawClip = 32635
)

var (
	ulawToLinear [256]int16
	alawToLinear [256]int16
)

func init() {
	for i := 0; i < 256; i++ {
		ulawToLinear[i] = decodeUlaw(byte(i))
		alawToLinear[i] = decodeAlaw(byte(i))
	}
}

func decodeUlaw(u byte) int16 {
	u = ^u
	t := (int(u&0x0f) << 3) + ulawBias
	t <<= (u & 0x70) >> 4
	if u&0x80 != 0 {
		return int16(ulawBias - t)
	}
	return int16(t - ulawBias)
}

func decodeAlaw(a byte) int16 {
	a ^= 0x55
	t := int(a&0x0f) << 4
	seg := (a & 0x70) >> 4
	switch seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if a&0x80 != 0 {
		return int16(t)
	}
	return int16(-t)
}

// UlawToLinear decodes one mu-law code.
func UlawToLinear(u byte) int16 { return ulawToLinear[u] }

// AlawToLinear decodes one A-law code.
func AlawToLinear(a byte) int16 { return alawToLinear[a] }

// LinearToUlaw encodes one sample as mu-law.
func LinearToUlaw(s int16) byte {
	v := int(s)
	sign := 0
	if v < 0 {
		v = -v
		sign = 0x80
	}
	if v > ulawClip {
		v = ulawClip
	}
	v += ulawBias
	exp := 7
	for mask := 0x4000; v&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := (v >> (exp + 3)) & 0x0f
	return ^byte(sign | exp<<4 | mant)
}

// LinearToAlaw encodes one sample as A-law.
func LinearToAlaw(s int16) byte {
	v := int(s)
	sign := 0x80
	if v < 0 {
		v = -v - 1
		sign = 0
	}
	v >>= 3 // A-law works on 13-bit magnitudes
	var out int
	switch {
	case v < 32:
		out = v >> 1
	default:
		seg := 1
		for t := v >> 5; t > 1 && seg < 7; t >>= 1 {
			seg++
		}
		out = seg<<4 | (v>>seg)&0x0f
		if v >= 4096 {
			out = 0x7f
		}
	}
	return byte(out|sign) ^ 0x55
}

// Codec names a G.711 law.
type Codec int

// The two laws, with their static RTP payload types (RFC 3551 table 4).
const (
	PCMU Codec = 0
	PCMA Codec = 8
)

// Decode appends the linear samples of payload to dst.
func (c Codec) Decode(dst []int16, payload []byte) []int16 {
	tab := &ulawToLinear
	if c == PCMA {
		tab = &alawToLinear
	}
	for _, b := range payload {
		dst = append(dst, tab[b])
	}
	return dst
}

// Encode appends the G.711 codes of samples to dst.
func (c Codec) Encode(dst []byte, samples []int16) []byte {
	enc := LinearToUlaw
	if c == PCMA {
		enc = LinearToAlaw
	}
	for _, s := range samples {
		dst = append(dst, enc(s))
	}
	return dst
}

// Silence is the code for a zero sample in each law (0xFF mu-law, 0xD5 A-law).
func (c Codec) Silence() byte {
	if c == PCMA {
		return 0xD5
	}
	return 0xFF
}
