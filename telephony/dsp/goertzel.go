package dsp

import "math"

// goertzelCoef returns 2cos(2*pi*f/fs), the feedback coefficient of a Goertzel filter tuned to
// f Hz. The Goertzel algorithm (G. Goertzel, "An algorithm for the evaluation of finite
// trigonometric series", 1958) evaluates one DFT term with a second-order recursion.
func goertzelCoef(f float64) float64 {
	return 2 * math.Cos(2*math.Pi*f/SampleRate)
}

// goertzel4 runs four Goertzel recursions side by side over block and returns the energy of the
// block's component at each filter's frequency, scaled so that a sine exactly at that frequency
// returns its sum of squares over the block (2|X|^2/N). Four independent recursions in one loop
// keep the floating-point units busy; one alone waits on its own multiply-add chain.
func goertzel4(c *[4]float64, block []float64) [4]float64 {
	var a1, a2, b1, b2, c1, c2, d1, d2 float64
	k0, k1, k2, k3 := c[0], c[1], c[2], c[3]
	for _, x := range block {
		a0 := x + k0*a1 - a2
		b0 := x + k1*b1 - b2
		c0 := x + k2*c1 - c2
		d0 := x + k3*d1 - d2
		a2, a1 = a1, a0
		b2, b1 = b1, b0
		c2, c1 = c1, c0
		d2, d1 = d1, d0
	}
	n := 2 / float64(len(block))
	return [4]float64{
		(a1*a1 + a2*a2 - k0*a1*a2) * n,
		(b1*b1 + b2*b2 - k1*b1*b2) * n,
		(c1*c1 + c2*c2 - k2*c1*c2) * n,
		(d1*d1 + d2*d2 - k3*d1*d2) * n,
	}
}

// goertzelBank evaluates the filters with coefficients coefs over block into out (same length),
// four at a time.
func goertzelBank(coefs []float64, block []float64, out []float64) {
	for i := 0; i < len(coefs); i += 4 {
		var c [4]float64
		copy(c[:], coefs[i:])
		e := goertzel4(&c, block)
		copy(out[i:], e[:])
	}
}

// blockEnergy returns the sum of squares of block.
func blockEnergy(block []float64) float64 {
	var e0, e1 float64
	i := 0
	for ; i+1 < len(block); i += 2 {
		e0 += block[i] * block[i]
		e1 += block[i+1] * block[i+1]
	}
	for ; i < len(block); i++ {
		e0 += block[i] * block[i]
	}
	return e0 + e1
}
