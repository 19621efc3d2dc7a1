package dsp

import "math"

// goertzelCoef returns 2cos(2*pi*f/fs), the feedback coefficient of a Goertzel filter tuned to
// f Hz. The Goertzel algorithm (G. Goertzel, "An algorithm for the evaluation of finite
// trigonometric series", 1958) evaluates one DFT term with a second-order recursion.
func goertzelCoef(f float64) float64 {
	return 2 * math.Cos(2*math.Pi*f/SampleRate)
}

// goertzelEnergy runs the Goertzel recursion over block and returns the energy of the block's
// component at the filter's frequency, scaled so that a sine exactly at that frequency returns
// the same value as its sum of squares over the block (2|X|^2/N).
func goertzelEnergy(coef float64, block []float64) float64 {
	var s1, s2 float64
	for _, x := range block {
		s0 := x + coef*s1 - s2
		s2 = s1
		s1 = s0
	}
	p := s1*s1 + s2*s2 - coef*s1*s2
	return 2 * p / float64(len(block))
}

// blockEnergy returns the sum of squares of block.
func blockEnergy(block []float64) float64 {
	var e float64
	for _, x := range block {
		e += x * x
	}
	return e
}
