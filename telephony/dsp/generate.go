package dsp

import (
	"fmt"
	"math"
	"time"
)

// Samples returns the number of samples d lasts at SampleRate, rounded to the nearest sample.
func Samples(d time.Duration) int {
	return int((d*SampleRate + time.Second/2) / time.Second)
}

// Duration returns how long n samples last at SampleRate.
func Duration(n int64) time.Duration {
	return time.Duration(n) * time.Second / SampleRate
}

// clip16 rounds v to the nearest 16-bit sample, saturating.
func clip16(v float64) int16 {
	v = math.Round(v)
	switch {
	case v > math.MaxInt16:
		return math.MaxInt16
	case v < math.MinInt16:
		return math.MinInt16
	}
	return int16(v)
}

// AppendSilence appends d of digital silence to dst.
func AppendSilence(dst []int16, d time.Duration) []int16 {
	return append(dst, make([]int16, Samples(d))...)
}

// AppendTone appends d of the sum of sines at freqs, each at levelDBm0, to dst. Each sine starts
// at phase zero, so concatenated tone bursts are what a tone generator at an exchange sends.
func AppendTone(dst []int16, freqs []float64, levelDBm0 float64, d time.Duration) []int16 {
	a := Amplitude(levelDBm0)
	n := Samples(d)
	for i := range n {
		var v float64
		for _, f := range freqs {
			v += a * math.Sin(2*math.Pi*f*float64(i)/SampleRate)
		}
		dst = append(dst, clip16(v))
	}
	return dst
}

// AppendDTMF appends digits as DTMF (ITU-T Q.23), each tone on for on and followed by off of
// silence, both tones of a digit at levelDBm0. It fails on a character that is not a DTMF key.
func AppendDTMF(dst []int16, digits string, on, off time.Duration, levelDBm0 float64) ([]int16, error) {
	for i := 0; i < len(digits); i++ {
		row, col, ok := dtmfFreqs(digits[i])
		if !ok {
			return dst, fmt.Errorf("dtmf: character %q: %w", digits[i], ErrNotDTMF)
		}
		dst = AppendTone(dst, []float64{row, col}, levelDBm0, on)
		dst = AppendSilence(dst, off)
	}
	return dst, nil
}

// AppendProgressTone appends cycles repetitions of tone's cadence at levelDBm0 (each frequency
// at that level) to dst. A continuous tone (no cadence) lasts cycles seconds.
func AppendProgressTone(dst []int16, tone Tone, cycles int, levelDBm0 float64) []int16 {
	if len(tone.Cadence) == 0 {
		return AppendTone(dst, tone.Freqs, levelDBm0, time.Duration(cycles)*time.Second)
	}
	for range cycles {
		for i, d := range tone.Cadence {
			if i%2 == 0 {
				dst = AppendTone(dst, tone.Freqs, levelDBm0, d)
			} else {
				dst = AppendSilence(dst, d)
			}
		}
	}
	return dst
}

// FSKModulator generates phase-continuous binary FSK, bit-exact in time at any rate: bit k
// starts at sample round(k*SampleRate/Baud) measured from the first bit. It is what an exchange
// or a caller-ID generator sends, for tests and for the simulated line.
type FSKModulator struct {
	mode  FSKMode
	amp   float64
	phase float64
	bits  int64   // bits sent
	start float64 // fractional sample position of the next bit
}

// NewFSKModulator returns a modulator for mode at levelDBm0.
func NewFSKModulator(mode FSKMode, levelDBm0 float64) *FSKModulator {
	return &FSKModulator{mode: mode, amp: Amplitude(levelDBm0)}
}

// AppendBit appends one bit (1 is mark) to dst.
func (m *FSKModulator) AppendBit(dst []int16, one bool) []int16 {
	f := m.mode.Space
	if one {
		f = m.mode.Mark
	}
	m.bits++
	end := float64(m.bits) * SampleRate / m.mode.Baud
	step := 2 * math.Pi * f / SampleRate
	for ; m.start < end; m.start++ {
		dst = append(dst, clip16(m.amp*math.Sin(m.phase)))
		m.phase += step
		if m.phase > 2*math.Pi {
			m.phase -= 2 * math.Pi
		}
	}
	return dst
}

// AppendMark appends n mark bits (an idle line) to dst.
func (m *FSKModulator) AppendMark(dst []int16, n int) []int16 {
	for range n {
		dst = m.AppendBit(dst, true)
	}
	return dst
}

// AppendBytes appends each byte of b as an asynchronous character: a space start bit, eight
// data bits least significant first, and a mark stop bit.
func (m *FSKModulator) AppendBytes(dst []int16, b []byte) []int16 {
	for _, c := range b {
		dst = m.AppendBit(dst, false)
		for i := range 8 {
			dst = m.AppendBit(dst, c&(1<<i) != 0)
		}
		dst = m.AppendBit(dst, true)
	}
	return dst
}
