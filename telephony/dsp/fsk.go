package dsp

import "math"

// FSKMode describes a binary FSK modem: the mark (binary 1) and space (binary 0) frequencies
// and the signalling rate.
type FSKMode struct {
	Name        string
	Mark, Space float64 // Hz
	Baud        float64
}

// Bell202 is the modem of North American caller ID (Telcordia GR-30-CORE section 3.1): 1200 Hz
// mark, 2200 Hz space, 1200 bit/s.
func Bell202() FSKMode { return FSKMode{Name: "Bell 202", Mark: 1200, Space: 2200, Baud: 1200} }

// V23 is the modem of European caller ID (ETSI EN 300 659-1 clause 6.1.1, ITU-T V.23 forward
// channel): 1300 Hz mark, 2100 Hz space, 1200 bit/s.
func V23() FSKMode { return FSKMode{Name: "V.23", Mark: 1300, Space: 2100, Baud: 1200} }

// DefaultFSKMinLevelDBm0 is the weakest FSK signal the receiver accepts as carrier. GR-30 asks
// receivers to work down to -32 dBm and EN 300 659-1 to -40 dBV (about -37.8 dBm), so we leave
// a few dB of margin below both while staying above the idle noise of an analog line.
const DefaultFSKMinLevelDBm0 = -45.0

// FSKEventKind says what an FSKEvent reports.
type FSKEventKind uint8

// The kinds of FSKEvent.
const (
	FSKByte         FSKEventKind = iota + 1 // a character framed by a start and a stop bit
	FSKFramingError                         // a start bit without a valid stop bit
	FSKCarrierUp                            // the signal rose above the minimum level
	FSKCarrierDown                          // the signal fell below it
)

// FSKEvent is one thing the FSK receiver saw.
type FSKEvent struct {
	Kind  FSKEventKind
	Value byte // FSKByte: the character (8 data bits, least significant first)
	// IdleBits is the number of mark bits seen between the previous character (or the start
	// of carrier) and this one's start bit.
	IdleBits int
	At       int64 // sample offset of the event since the receiver was created or reset
}

// iqBiquad is a second-order IIR low-pass section (R. Bristow-Johnson, "Cookbook formulae for
// audio EQ biquad filter coefficients") in transposed direct form II, filtering the in-phase
// and quadrature channels together.
type iqBiquad struct {
	b0, b1, b2, a1, a2 float64
	i1, i2, q1, q2     float64 // state of each channel
}

func lowpassBiquad(fc, q float64) iqBiquad {
	w0 := 2 * math.Pi * fc / SampleRate
	cw, alpha := math.Cos(w0), math.Sin(w0)/(2*q)
	a0 := 1 + alpha
	return iqBiquad{
		b0: (1 - cw) / 2 / a0, b1: (1 - cw) / a0, b2: (1 - cw) / 2 / a0,
		a1: -2 * cw / a0, a2: (1 - alpha) / a0,
	}
}

func (f *iqBiquad) step(i, q float64) (float64, float64) {
	yi := f.b0*i + f.i1
	yq := f.b0*q + f.q1
	f.i1 = f.b1*i - f.a1*yi + f.i2
	f.q1 = f.b1*q - f.a1*yq + f.q2
	f.i2 = f.b2*i - f.a2*yi
	f.q2 = f.b2*q - f.a2*yq
	return yi, yq
}

func (f *iqBiquad) reset() { f.i1, f.i2, f.q1, f.q2 = 0, 0, 0, 0 }

// uart states.
const (
	uartIdle = iota
	uartBits
)

// FSKReceiver demodulates binary FSK and frames it into asynchronous characters (1 start bit,
// 8 data bits least significant first, 1 stop bit), as caller ID sends them.
//
// Demodulation: the signal is mixed down by the centre frequency (mark+space)/2, low-pass
// filtered (4th-order Butterworth, which also removes the image and most out-of-band noise),
// and passed through a quadrature discriminator whose output is the instantaneous frequency
// offset: negative for mark, positive for space. It is normalised by the smoothed signal power,
// so levels from 0 to about -45 dBm0 decode alike.
//
// Bit-clock recovery: each start bit's leading edge (mark to space) is located to a fraction of
// a sample by interpolating the discriminator's zero crossing; the character's bits are then
// sampled, interpolated, at the centres that edge predicts. Re-timing on every start bit
// tolerates transmitters several per cent off the nominal rate. The channel-seizure pattern
// (alternating bits) frames as 0x55 from any edge, which the caller-ID layer skips.
//
// It is not safe for concurrent use; use one per line.
type FSKReceiver struct {
	mode FSKMode
	spb  float64 // samples per bit
	// The local oscillator: one period of cos and -sin of the centre frequency (1700 Hz for
	// both modems: 17 cycles in 80 samples), or a rotating phasor when no short period exists.
	oscCos, oscSin []float64
	oscPos         int
	rot, osc       complex128
	oscCount       int
	lp             [2]iqBiquad
	pw             float64 // smoothed baseband power
	pwAlpha        float64
	onThresh       float64
	offThresh      float64
	carrier        bool
	pi, pq         float64 // previous baseband sample
	prevD          float64 // previous discriminator output
	startMin       float64 // discriminator output a start bit must reach at its centre
	n              int64   // index of the current sample

	state     int
	next      float64 // sample time of the next bit centre
	bit       int     // 0: start bit, 1-8: data, 9: stop
	value     byte
	idleStart int64 // sample at which the current idle (mark) stretch began
	events    []FSKEvent
}

// NewFSKReceiver returns a receiver for mode that treats signals weaker than minLevelDBm0 as no
// carrier (0 takes DefaultFSKMinLevelDBm0).
func NewFSKReceiver(mode FSKMode, minLevelDBm0 float64) *FSKReceiver {
	if minLevelDBm0 == 0 {
		minLevelDBm0 = DefaultFSKMinLevelDBm0
	}
	centre := (mode.Mark + mode.Space) / 2
	dev := math.Abs(mode.Space-mode.Mark) / 2
	// Pass the deviation plus a fifth of the bit rate. Wider (up to the keyed signal's main lobe,
	// dev+baud/2) lets in more noise than it gains in sharper edges: with white noise
	// at 8 dB SNR (full band), 0.2 decodes 49 of 50 frames, 0.5 about 25; 0.15 is a little better in noise
	// and a little worse on transmitters off their nominal rate.
	fc := dev + mode.Baud*0.2
	r := &FSKReceiver{
		mode: mode,
		spb:  SampleRate / mode.Baud,
		rot:  complex(math.Cos(2*math.Pi*centre/SampleRate), -math.Sin(2*math.Pi*centre/SampleRate)),
		// About 2.5 ms: fast enough to follow a carrier's start within two bits.
		pwAlpha: 1 - math.Exp(-1/(0.0025*SampleRate)),
	}
	// The two sections of a 4th-order Butterworth filter.
	r.lp[0] = lowpassBiquad(fc, 0.5412)
	r.lp[1] = lowpassBiquad(fc, 1.3066)
	for n := 1; n <= SampleRate/10; n++ {
		cycles := centre * float64(n) / SampleRate
		if math.Abs(cycles-math.Round(cycles)) < 1e-9 {
			for k := range n {
				ph := 2 * math.Pi * centre * float64(k) / SampleRate
				r.oscCos = append(r.oscCos, math.Cos(ph))
				r.oscSin = append(r.oscSin, -math.Sin(ph))
			}
			break
		}
	}
	// The discriminator reads sin(2*pi*deviation/fs) on a clean space; a start bit must reach
	// 20 % of that at its centre, so a click or a phase jump in the mark signal that
	// crosses zero for a moment is not taken for one.
	r.startMin = 0.2 * math.Sin(2*math.Pi*dev/SampleRate)
	a := Amplitude(minLevelDBm0)
	r.onThresh = a * a / 4 // mixing halves the amplitude of the wanted component
	r.offThresh = r.onThresh / 2
	r.Reset()
	return r
}

// Mode returns the modem the receiver was built for.
func (r *FSKReceiver) Mode() FSKMode { return r.mode }

// Reset forgets all state, as if the receiver were new.
func (r *FSKReceiver) Reset() {
	r.osc, r.oscCount, r.oscPos = 1, 0, 0
	r.lp[0].reset()
	r.lp[1].reset()
	r.pw, r.carrier, r.pi, r.pq, r.prevD, r.n = 0, false, 0, 0, 0, 0
	r.state, r.next, r.bit, r.value, r.idleStart = uartIdle, 0, 0, 0, 0
}

// Process consumes samples and appends what it saw in them to dst.
func (r *FSKReceiver) Process(dst []FSKEvent, samples []int16) []FSKEvent {
	for _, s := range samples {
		dst = r.step(dst, float64(s))
	}
	return dst
}

func (r *FSKReceiver) step(dst []FSKEvent, x float64) []FSKEvent {
	n := r.n
	r.n++
	// Mix down and low-pass.
	var bi, bq float64
	if len(r.oscCos) > 0 {
		bi, bq = x*r.oscCos[r.oscPos], x*r.oscSin[r.oscPos]
		r.oscPos++
		if r.oscPos == len(r.oscCos) {
			r.oscPos = 0
		}
	} else {
		bi, bq = x*real(r.osc), x*imag(r.osc)
		r.osc *= r.rot
		r.oscCount++
		if r.oscCount == 1024 { // keep the phasor on the unit circle
			r.osc /= complex(math.Hypot(real(r.osc), imag(r.osc)), 0)
			r.oscCount = 0
		}
	}
	bi, bq = r.lp[0].step(bi, bq)
	bi, bq = r.lp[1].step(bi, bq)
	p := bi*bi + bq*bq
	r.pw += r.pwAlpha * (p - r.pw)
	// Discriminator: Im(conj(z[n-1]) z[n]) / power ~ sin(2*pi*offset/fs).
	d := (r.pi*bq - r.pq*bi) / (r.pw + 1)
	r.pi, r.pq = bi, bq
	prevD := r.prevD
	r.prevD = d

	switch {
	case !r.carrier && r.pw > r.onThresh:
		r.carrier = true
		r.state, r.idleStart = uartIdle, n
		return append(dst, FSKEvent{Kind: FSKCarrierUp, At: n})
	case r.carrier && r.pw < r.offThresh:
		r.carrier = false
		r.state = uartIdle
		return append(dst, FSKEvent{Kind: FSKCarrierDown, At: n})
	case !r.carrier:
		return dst
	}

	t := float64(n)
	switch r.state {
	case uartIdle:
		if prevD < 0 && d >= 0 { // mark to space: a start bit's leading edge
			edge := t - 1 + prevD/(prevD-d)
			r.state, r.bit, r.value = uartBits, 0, 0
			r.next = edge + r.spb/2
		}
	case uartBits:
		if t < r.next {
			return dst
		}
		// Interpolate the discriminator at the bit centre, which lies in (t-1, t].
		v := prevD + (r.next-(t-1))*(d-prevD)
		mark := v < 0
		switch {
		case r.bit == 0:
			if v < r.startMin { // a glitch, not a start bit
				r.state = uartIdle
				return dst
			}
		case r.bit <= 8:
			if mark {
				r.value |= 1 << (r.bit - 1)
			}
		default:
			idle := int(math.Round(float64(r.next-r.spb*9.5-float64(r.idleStart)) / r.spb))
			r.state = uartIdle
			r.idleStart = int64(r.next + r.spb/2)
			if !mark {
				r.idleStart = n
				return append(dst, FSKEvent{Kind: FSKFramingError, At: n, IdleBits: max(idle, 0)})
			}
			return append(dst, FSKEvent{Kind: FSKByte, Value: r.value, At: n, IdleBits: max(idle, 0)})
		}
		r.bit++
		r.next += r.spb
	}
	return dst
}
