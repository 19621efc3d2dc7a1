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

// Bit-clock recovery.
const (
	// fskMaxRateError bounds the bit-period estimate around the nominal period. Telephone
	// senders are specified to 1 % (GR-30, EN 300 659-1) but cheap ones are several per cent
	// off; 8 % leaves room above the 5 % we test.
	fskMaxRateError = 0.08
	// fskPriorBits is the weight, in bits measured, that the nominal period starts with, and
	// fskMaxBits the most the measurements accumulate, so the estimate keeps following.
	fskPriorBits = 8
	fskMaxBits   = 48
	// fskMaxEdgeBits: two edges further apart than this do not measure the period (at 5 % off,
	// 9 bits are 0.45 bit off the nominal count, the most that still rounds right).
	fskMaxEdgeBits = 9
	// fskPhaseGain is the share of a data edge's timing error corrected at once (0.3 to 0.7
	// decode alike in noise).
	fskPhaseGain = 0.5
	// fskSeizureBits alternating bits in a row are a channel seizure (GR-30 and EN 300 659-1
	// send 300). Caller-ID text would need four 'U' in a row to look like one.
	fskSeizureBits = 40
	// fskMarkBits of mark with no seizure before them are a mark signal: what the period
	// estimate learnt before it came from noise. Characters of one message are at most
	// 10 mark bits apart (GR-30).
	fskMarkBits = 16
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
// a sample by interpolating the discriminator's zero crossing, and the character's bits are
// sampled, interpolated, at the centres that edge and the estimated bit period predict. A start
// bit after an idle stretch must read space at its centre and still four fifths into it,
// so noise in the mark signal just before the message is not taken for its first start bit. Every
// edge between two bits read with confidence moves the following centres half way to where
// that edge puts them, and measures the bit period (the time since the previous edge over the
// whole number of bits between them); the estimate is a running mean of these, weighted by
// bits, that starts at the nominal period and is bounded to 8 % around it. The channel
// seizure (alternating bits, an edge every bit) settles it before the message; without one,
// the message's own edges do. A mark signal not preceded by a seizure resets it, so noise
// before the signal does not leave it off. Senders up to 5 % off the nominal rate decode.
//
// Channel seizure: it frames as 0x55 from any space bit. After 40 alternating bits in a row,
// the first two equal bits end it. Two marks are the line idling: the next space is a start
// bit. Two spaces are a start bit and data bit 0, and the character is re-framed on the
// first, so a message that follows the seizure with no mark signal is read from its first
// character when that character's lowest bit is 0 (every caller-ID message type but 0x89).
//
// It is not safe for concurrent use; use one per line.
type FSKReceiver struct {
	mode   FSKMode
	spbNom float64 // nominal samples per bit
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

	// Bit clock.
	spb        float64 // estimated samples per bit
	spbW       float64 // weight of the estimate, in bits measured
	lastEdge   float64 // sample time of the last edge measured; negative: none
	startEdge  float64 // the current character's start edge
	confirmAt  float64 // sample time at which the start bit is checked again; 0: none
	stopEnd    float64 // sample time at which the last stop bit ended
	upT, downT float64 // zero crossing each way nearest the expected edge before the next centre; negative: none
	prevMark   bool    // the last bit sampled
	prevStrong bool    // ... was read with confidence
	alt        int     // bits sampled in a row that differ from the one before
	seized     bool    // a channel seizure was seen since the carrier rose

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
		mode:   mode,
		spbNom: SampleRate / mode.Baud,
		rot:    complex(math.Cos(2*math.Pi*centre/SampleRate), -math.Sin(2*math.Pi*centre/SampleRate)),
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
	r.resetClock()
}

// resetClock forgets the bit clock: the nominal period, no edges, no seizure.
func (r *FSKReceiver) resetClock() {
	r.spb, r.spbW = r.spbNom, fskPriorBits
	r.lastEdge, r.stopEnd, r.confirmAt = -1, math.Inf(-1), 0
	r.upT, r.downT = -1, -1
	r.prevMark, r.prevStrong, r.alt, r.seized = true, false, 0, false
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
		r.resetClock()
		return append(dst, FSKEvent{Kind: FSKCarrierUp, At: n})
	case r.carrier && r.pw < r.offThresh:
		r.carrier = false
		r.state = uartIdle
		return append(dst, FSKEvent{Kind: FSKCarrierDown, At: n})
	case !r.carrier:
		return dst
	}

	t := float64(n)
	cross := -1.0 // where the discriminator crossed zero in (t-1, t]
	if (prevD < 0) != (d < 0) {
		cross = t - 1 + prevD/(prevD-d)
	}
	switch r.state {
	case uartIdle:
		if prevD < 0 && d >= 0 { // mark to space: a start bit's leading edge
			r.state, r.bit, r.value = uartBits, 0, 0
			r.startEdge = cross
			r.next = cross + r.spb/2
			r.upT, r.downT = -1, -1
		} else if !r.seized && r.spbW > fskPriorBits && t-float64(r.idleStart) > fskMarkBits*r.spb {
			r.spb, r.spbW, r.lastEdge = r.spbNom, fskPriorBits, -1
		}
	case uartBits:
		if cross >= 0 && cross < r.next {
			r.noteCrossing(cross, d >= 0)
		}
		if r.confirmAt > 0 && t >= r.confirmAt {
			// Four fifths into a start bit after an idle stretch: still space, or it was
			// noise in the mark signal, just before the real start bit.
			v := prevD + (r.confirmAt-(t-1))*(d-prevD)
			r.confirmAt = 0
			if v < 0 { // and its edge measured nothing
				r.state, r.lastEdge = uartIdle, -1
				return dst
			}
		}
		if t < r.next {
			return dst
		}
		centre := r.next
		dst = r.sampleBit(dst, prevD+(centre-(t-1))*(d-prevD), n)
		if cross >= centre && r.state == uartBits {
			r.noteCrossing(cross, d >= 0)
		}
	}
	return dst
}

// noteCrossing keeps a zero crossing at t (towards space when up) if it is the nearest yet to
// the edge expected half a bit before the next centre.
func (r *FSKReceiver) noteCrossing(t float64, up bool) {
	edge := r.next - r.spb/2
	kept := &r.downT
	if up {
		kept = &r.upT
	}
	if *kept < 0 || math.Abs(t-edge) < math.Abs(*kept-edge) {
		*kept = t
	}
}

// measure takes an edge at t into the bit-period estimate.
func (r *FSKReceiver) measure(t float64) {
	if r.lastEdge >= 0 {
		span := t - r.lastEdge
		if bits := math.Round(span / r.spb); bits >= 1 && bits <= fskMaxEdgeBits {
			r.spbW = min(r.spbW+bits, fskMaxBits)
			r.spb += bits / r.spbW * (span/bits - r.spb)
			r.spb = max(min(r.spb, r.spbNom*(1+fskMaxRateError)), r.spbNom*(1-fskMaxRateError))
		}
	}
	r.lastEdge = t
}

// sampleBit takes the discriminator's value v at the centre of the next bit (r.next), at sample n.
func (r *FSKReceiver) sampleBit(dst []FSKEvent, v float64, n int64) []FSKEvent {
	mark := v < 0
	strong := math.Abs(v) >= r.startMin
	shift := 0.0 // correction of the following centres
	if r.bit == 0 {
		if v < r.startMin { // a glitch, not a start bit
			r.state = uartIdle
			return dst
		}
		if r.startEdge-r.stopEnd > r.spb { // after an idle stretch: see confirmAt
			r.confirmAt = r.next + 0.3*r.spb
		}
		r.measure(r.startEdge)
		if r.prevMark && r.startEdge-r.stopEnd < r.spb/2 {
			r.alt++ // straight after a stop bit
		} else {
			r.alt = 1
		}
	} else if mark != r.prevMark {
		edge := r.upT
		if mark {
			edge = r.downT
		}
		if edge >= 0 && strong && r.prevStrong {
			shift = fskPhaseGain * (edge - (r.next - r.spb/2))
			r.measure(edge)
		}
		r.alt++
	} else {
		if r.alt >= fskSeizureBits {
			// The end of a channel seizure. Two marks are the line idling before a start bit;
			// two spaces are a start bit and data bit 0: re-frame on the first.
			r.idleStart = int64(r.next - 1.5*r.spb)
			if mark {
				r.state, r.alt, r.prevMark, r.prevStrong = uartIdle, 1, mark, strong
				return dst
			}
			r.bit, r.value = 1, 0
		}
		r.alt = 1
	}
	if r.alt >= fskSeizureBits {
		r.seized = true
	}
	r.prevMark, r.prevStrong = mark, strong
	r.upT, r.downT = -1, -1
	switch {
	case r.bit == 0:
	case r.bit <= 8:
		if mark {
			r.value |= 1 << (r.bit - 1)
		}
	default:
		idle := int(math.Round((r.next - r.spb*9.5 - float64(r.idleStart)) / r.spb))
		r.state = uartIdle
		r.stopEnd = r.next + r.spb/2
		r.idleStart = int64(r.stopEnd)
		if !mark {
			r.idleStart = n
			return append(dst, FSKEvent{Kind: FSKFramingError, At: n, IdleBits: max(idle, 0)})
		}
		return append(dst, FSKEvent{Kind: FSKByte, Value: r.value, At: n, IdleBits: max(idle, 0)})
	}
	r.bit++
	r.next += r.spb + shift
	return dst
}
