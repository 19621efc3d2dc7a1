package hw

import "math"

// Resampler converts a stream of 16-bit mono samples from one rate to another by band-limited
// (windowed-sinc) interpolation: each output sample is the sum of the nearby input samples
// weighted by a sinc low-pass kernel placed at the output instant, the classic fractional
// resampler of J. O. Smith's "Digital Audio Resampling". The cutoff is 0.45 of the lower of the
// two rates (3.6 kHz between 8 kHz and a 48 or 44.1 kHz device), so downsampling removes what
// would alias and upsampling removes the images; the kernel spans 16 zero crossings of the lower
// rate and is shaped by a Blackman window (about 70 dB stop band). The kernel is tabulated at 512
// points per zero crossing and linearly interpolated between them. It works for any rate ratio,
// including 44.1 kHz to 8 kHz, allocates nothing once warm, and is not safe for concurrent use.
type Resampler struct {
	step   float64   // input samples per output sample
	scale  float64   // kernel time scale: input-sample distance -> zero crossings
	gain   float64   // kernel gain so DC passes at unity
	half   int       // kernel half-width in input samples
	table  []float64 // kernel at 1/tableRes zero crossings, from 0 to zeroCrossings
	hist   []float64 // input samples not yet consumed (with half samples of history before pos)
	pos    float64   // position of the next output sample, in hist's indices
	primed bool
}

const (
	zeroCrossings = 16
	tableRes      = 512
	cutoffShare   = 0.45 // of the lower rate
)

// NewResampler returns a resampler from inRate to outRate (samples per second).
func NewResampler(inRate, outRate int) *Resampler {
	lower := float64(min(inRate, outRate))
	fc := cutoffShare * lower // Hz
	r := &Resampler{step: float64(inRate) / float64(outRate)}
	// With t in input samples, the kernel is sinc(2 fc t / inRate); its zero crossings are
	// inRate / (2 fc) input samples apart.
	r.scale = 2 * fc / float64(inRate)
	r.gain = r.scale
	r.half = int(math.Ceil(zeroCrossings / r.scale))
	r.table = make([]float64, zeroCrossings*tableRes+2)
	for i := range r.table {
		x := float64(i) / tableRes // in zero crossings
		if x > zeroCrossings {
			break
		}
		s := 1.0
		if x != 0 {
			s = math.Sin(math.Pi*x) / (math.Pi * x)
		}
		w := 0.42 + 0.5*math.Cos(math.Pi*x/zeroCrossings) + 0.08*math.Cos(2*math.Pi*x/zeroCrossings) // Blackman, centred
		r.table[i] = s * w
	}
	return r
}

func (r *Resampler) kernel(t float64) float64 {
	x := math.Abs(t) * r.scale * tableRes
	i := int(x)
	if i >= len(r.table)-1 {
		return 0
	}
	f := x - float64(i)
	return r.table[i] + f*(r.table[i+1]-r.table[i])
}

// Process consumes in and appends the output samples it makes possible to dst. The output lags
// the input by the kernel's half-width.
func (r *Resampler) Process(dst []int16, in []int16) []int16 {
	if !r.primed {
		// Start with half a kernel of silence so the first output sample is the first input's.
		for range r.half {
			r.hist = append(r.hist, 0)
		}
		r.pos = float64(r.half)
		r.primed = true
	}
	for _, v := range in {
		r.hist = append(r.hist, float64(v))
	}
	for r.pos+float64(r.half) < float64(len(r.hist)) {
		c := int(r.pos)
		var acc float64
		for k := c - r.half + 1; k <= c+r.half; k++ {
			if k < 0 {
				continue
			}
			acc += r.hist[k] * r.kernel(r.pos-float64(k))
		}
		acc *= r.gain
		dst = append(dst, int16(max(-32768, min(32767, math.Round(acc)))))
		r.pos += r.step
	}
	// Keep half a kernel of history before the next output position.
	if drop := int(r.pos) - r.half; drop > 0 {
		n := copy(r.hist, r.hist[drop:])
		r.hist = r.hist[:n]
		r.pos -= float64(drop)
	}
	return dst
}
