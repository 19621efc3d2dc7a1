package dsp

import "time"

// DefaultSilenceLevelDBm0 is the level below which audio counts as silence: well under quiet
// speech (about -35 dBm0 at its softest) and above the idle noise of an analog line with its
// hybrid echo (about -55 dBm0).
const DefaultSilenceLevelDBm0 = -45.0

const silenceBlock = 160 // 20 ms

// SilenceDetector measures how long the audio has stayed below a level, in 20 ms blocks. It
// needs no clock: the sample count is the time. It is not safe for concurrent use.
type SilenceDetector struct {
	maxE   float64
	acc    float64
	n      int
	silent int64 // samples of silence so far
}

// NewSilenceDetector returns a detector for audio below levelDBm0 (0 takes the default).
func NewSilenceDetector(levelDBm0 float64) *SilenceDetector {
	if levelDBm0 == 0 {
		levelDBm0 = DefaultSilenceLevelDBm0
	}
	return &SilenceDetector{maxE: sineEnergy(levelDBm0, silenceBlock)}
}

// Process consumes samples and returns how long the audio has now been silent (0 when the last
// complete block had sound).
func (s *SilenceDetector) Process(samples []int16) time.Duration {
	for _, v := range samples {
		x := float64(v)
		s.acc += x * x
		s.n++
		if s.n == silenceBlock {
			if s.acc < s.maxE {
				s.silent += silenceBlock
			} else {
				s.silent = 0
			}
			s.acc, s.n = 0, 0
		}
	}
	return Duration(s.silent)
}

// Silent returns how long the audio has been silent.
func (s *SilenceDetector) Silent() time.Duration { return Duration(s.silent) }

// Reset forgets all state.
func (s *SilenceDetector) Reset() { s.acc, s.n, s.silent = 0, 0, 0 }
