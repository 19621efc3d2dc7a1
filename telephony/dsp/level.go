package dsp

import "math"

// SampleRate is the only rate this package works at: narrowband telephony, 8000 samples per
// second of mono signed 16-bit linear PCM (what G.711 decodes to).
const SampleRate = 8000

// FullScaleDBm0 is the level of a full-scale 16-bit sine wave. ITU-T G.711 puts the digital
// milliwatt (0 dBm0) 3.17 dB below the mu-law overload point; we use the same figure for
// 16-bit linear samples (peak 32767), so a 0 dBm0 sine has a peak of about 22,700.
const FullScaleDBm0 = 3.17

// Amplitude returns the peak amplitude, in 16-bit sample units, of a sine wave at levelDBm0.
func Amplitude(levelDBm0 float64) float64 {
	return 32767 * math.Pow(10, (levelDBm0-FullScaleDBm0)/20)
}

// sineEnergy returns the energy (sum of squares) that n samples of a sine at levelDBm0 carry.
func sineEnergy(levelDBm0 float64, n int) float64 {
	a := Amplitude(levelDBm0)
	return a * a / 2 * float64(n)
}

// LevelDBm0 returns the level, in dBm0, of samples whose mean square is meanSquare; a sine wave
// of the returned level has the same power. It returns -math.MaxFloat64 for silence.
func LevelDBm0(meanSquare float64) float64 {
	if meanSquare <= 0 {
		return -math.MaxFloat64
	}
	ref := 32767.0 * 32767.0 / 2 // mean square of a full-scale sine
	return 10*math.Log10(meanSquare/ref) + FullScaleDBm0
}

// dbRatio converts a level difference in dB to a power ratio.
func dbRatio(db float64) float64 { return math.Pow(10, db/10) }
