package dsp

import (
	"fmt"
	"strings"
	"time"
)

// ToneKind names a call-progress tone.
type ToneKind uint8

// The call-progress tones the detector knows.
const (
	DialTone ToneKind = iota + 1
	BusyTone
	ReorderTone // reorder (North America) or congestion (Europe): the network is full or failed
)

func (k ToneKind) String() string {
	switch k {
	case DialTone:
		return "dial"
	case BusyTone:
		return "busy"
	case ReorderTone:
		return "reorder"
	}
	return fmt.Sprintf("ToneKind(%d)", uint8(k))
}

// Tone is one call-progress tone of a country: its frequencies (each sent at the same level)
// and its cadence, alternating on and off times starting with on; an empty cadence is a
// continuous tone.
type Tone struct {
	Kind    ToneKind
	Freqs   []float64
	Cadence []time.Duration
}

// Country is a country's set of call-progress tones.
type Country struct {
	Code  string // ISO 3166-1 alpha-2
	Tones []Tone
}

func ms(v ...int) []time.Duration {
	d := make([]time.Duration, len(v))
	for i, x := range v {
		d[i] = time.Duration(x) * time.Millisecond
	}
	return d
}

// Countries returns the call-progress tone plans this package knows, keyed by ISO 3166-1 code.
// doc.go lists the sources for each figure.
func Countries() map[string]Country {
	return map[string]Country{
		"US": {Code: "US", Tones: []Tone{
			{Kind: DialTone, Freqs: []float64{350, 440}},
			{Kind: BusyTone, Freqs: []float64{480, 620}, Cadence: ms(500, 500)},
			{Kind: ReorderTone, Freqs: []float64{480, 620}, Cadence: ms(250, 250)},
		}},
		"GB": {Code: "GB", Tones: []Tone{
			{Kind: DialTone, Freqs: []float64{350, 440}},
			{Kind: BusyTone, Freqs: []float64{400}, Cadence: ms(375, 375)},
			{Kind: ReorderTone, Freqs: []float64{400}, Cadence: ms(400, 350, 225, 525)},
		}},
		"DE": {Code: "DE", Tones: []Tone{
			{Kind: DialTone, Freqs: []float64{425}},
			{Kind: BusyTone, Freqs: []float64{425}, Cadence: ms(480, 480)},
			{Kind: ReorderTone, Freqs: []float64{425}, Cadence: ms(240, 240)},
		}},
		"FR": {Code: "FR", Tones: []Tone{
			{Kind: DialTone, Freqs: []float64{440}},
			{Kind: BusyTone, Freqs: []float64{440}, Cadence: ms(500, 500)},
			{Kind: ReorderTone, Freqs: []float64{440}, Cadence: ms(250, 250)},
		}},
	}
}

// LookupCountry returns the tone plan for an ISO 3166-1 alpha-2 code ("UK" is accepted for GB).
func LookupCountry(code string) (Country, error) {
	code = strings.ToUpper(code)
	if code == "UK" {
		code = "GB"
	}
	c, ok := Countries()[code]
	if !ok {
		return Country{}, fmt.Errorf("call progress tones for %q: %w", code, ErrUnknownCountry)
	}
	return c, nil
}

// Detector parameters.
const (
	progressBlock = 160 // 20 ms: 50 Hz resolution, enough to tell 400 from 440 and 480 from 440
	// DefaultProgressMinLevelDBm0 is the weakest tone component accepted. Exchanges send
	// call-progress tones at about -10 to -24 dBm0 per component; a long line loses a few dB more.
	DefaultProgressMinLevelDBm0 = -36.0
	// DefaultProgressPurity is the share of a block's energy the tone's frequencies must carry.
	// Speech and music spread their energy over harmonics and rarely reach it.
	DefaultProgressPurity = 0.75
	// DefaultDialMinDuration is how long a continuous tone must last to count as dial tone.
	DefaultDialMinDuration = time.Second
	// cadence tolerance: each on/off time may be off by 15 % or 80 ms, whichever is more (E.180
	// allows about 10 %; the rest covers our 20 ms blocks, the debounce, and
	// the 300/200 ms reorder some US exchanges still send).
	cadenceTolFrac = 0.15
	cadenceTolMin  = 80 * time.Millisecond
)

// ProgressEvent reports a call-progress tone.
type ProgressEvent struct {
	Kind ToneKind
	// Cycles counts complete cadence cycles recognised in a row (for dial tone: whole seconds
	// of continuous tone). An event is sent each time it grows.
	Cycles int
	At     int64 // sample offset at which the count grew
}

// toneTrack follows one tone's on/off segments and matches them against its cadence.
type toneTrack struct {
	tone   Tone
	bins   []int // indexes of the tone's frequencies in ProgressDetector.energy
	on     bool  // debounced state
	pend   int   // consecutive blocks disagreeing with on
	segLen int64 // samples in the current segment
	phase  int   // index into the cadence of the next segment expected
	cycles int
	dialAt int64 // dial tone: samples of on already reported, in whole seconds
}

// ProgressDetector recognises a country's busy, reorder and dial tones. Every 20 ms block is
// tested, per tone, with Goertzel filters at the tone's frequencies: the block is "on" when
// each frequency is above the minimum level and together they carry most of the block's
// energy. States are debounced over two blocks; the lengths of the on and off segments are
// then matched, in order, against the tone's cadence with a tolerance, and each completed cycle
// is reported. A disconnect supervisor typically hangs up after two or three cycles, which
// speech, music and hold music do not produce. It is not safe for concurrent use.
type ProgressDetector struct {
	minE   float64
	purity float64
	dialN  int64
	tracks []toneTrack
	coefs  []float64 // one Goertzel filter per distinct frequency of the country's tones
	energy []float64 // their energies in the last block
	block  [progressBlock]float64
	n      int
	pos    int64
}

// NewProgressDetector returns a detector for country's tones; minLevelDBm0 and purity of 0
// take the defaults.
func NewProgressDetector(country Country, minLevelDBm0, purity float64) *ProgressDetector {
	if minLevelDBm0 == 0 {
		minLevelDBm0 = DefaultProgressMinLevelDBm0
	}
	if purity == 0 {
		purity = DefaultProgressPurity
	}
	p := &ProgressDetector{
		minE:   sineEnergy(minLevelDBm0, progressBlock),
		purity: purity,
		dialN:  int64(Samples(DefaultDialMinDuration)),
	}
	var freqs []float64
	for _, t := range country.Tones {
		tr := toneTrack{tone: t}
		for _, f := range t.Freqs {
			i := 0
			for i < len(freqs) && freqs[i] != f {
				i++
			}
			if i == len(freqs) {
				freqs = append(freqs, f)
			}
			tr.bins = append(tr.bins, i)
		}
		p.tracks = append(p.tracks, tr)
	}
	for _, f := range freqs {
		p.coefs = append(p.coefs, goertzelCoef(f))
	}
	p.energy = make([]float64, len(p.coefs))
	return p
}

// Reset forgets all state, as if the detector were new.
func (p *ProgressDetector) Reset() {
	p.n, p.pos = 0, 0
	for i := range p.tracks {
		t := &p.tracks[i]
		t.on, t.pend, t.segLen, t.phase, t.cycles, t.dialAt = false, 0, 0, 0, 0, 0
	}
}

// Process consumes samples and appends the tone events seen in them to dst.
func (p *ProgressDetector) Process(dst []ProgressEvent, samples []int16) []ProgressEvent {
	for _, s := range samples {
		p.block[p.n] = float64(s)
		p.n++
		if p.n < progressBlock {
			continue
		}
		p.n = 0
		p.pos += progressBlock
		total := blockEnergy(p.block[:])
		goertzelBank(p.coefs, p.block[:], p.energy)
		for i := range p.tracks {
			dst = p.tracks[i].update(dst, p, total)
		}
	}
	return dst
}

func (t *toneTrack) blockOn(p *ProgressDetector, total float64) bool {
	var sum float64
	for _, b := range t.bins {
		e := p.energy[b]
		if e < p.minE {
			return false
		}
		sum += e
	}
	return sum >= p.purity*total
}

func (t *toneTrack) update(dst []ProgressEvent, p *ProgressDetector, total float64) []ProgressEvent {
	on := t.blockOn(p, total)
	t.segLen += progressBlock
	if on == t.on {
		t.pend = 0
	} else {
		t.pend++
		if t.pend >= 2 { // debounced change: the segment ended two blocks ago
			ended := t.segLen - 2*progressBlock
			dst = t.segmentEnded(dst, t.on, ended, p.pos)
			t.on, t.pend, t.segLen = on, 0, 2*progressBlock
		}
	}
	if len(t.tone.Cadence) == 0 && t.on && t.pend == 0 {
		// Continuous tone: report every whole second past the minimum.
		if t.segLen >= p.dialN && t.segLen-t.dialAt >= SampleRate {
			t.dialAt = t.segLen - t.segLen%SampleRate
			t.cycles = int(t.segLen / SampleRate)
			dst = append(dst, ProgressEvent{Kind: t.tone.Kind, Cycles: t.cycles, At: p.pos})
		}
	}
	if len(t.tone.Cadence) > 0 && t.on {
		// A tone on longer than the longest on-time of its cadence is some other tone.
		if t.segLen > int64(Samples(maxOn(t.tone.Cadence))) {
			t.phase, t.cycles = 0, 0
		}
	}
	return dst
}

func maxOn(c []time.Duration) time.Duration {
	var m time.Duration
	for i := 0; i < len(c); i += 2 {
		m = max(m, c[i])
	}
	return m + max(time.Duration(float64(m)*cadenceTolFrac), cadenceTolMin)
}

func cadenceMatch(want time.Duration, gotSamples int64) bool {
	got := Duration(gotSamples)
	tol := max(time.Duration(float64(want)*cadenceTolFrac), cadenceTolMin)
	return got >= want-tol && got <= want+tol
}

// segmentEnded handles a finished segment of state wasOn and length n samples.
func (t *toneTrack) segmentEnded(dst []ProgressEvent, wasOn bool, n, at int64) []ProgressEvent {
	if !wasOn {
		t.dialAt = 0
	}
	cad := t.tone.Cadence
	if len(cad) == 0 {
		t.cycles = 0
		return dst
	}
	isOn := t.phase%2 == 0
	if wasOn == isOn && cadenceMatch(cad[t.phase], n) {
		t.phase++
		if t.phase == len(cad) {
			t.phase = 0
			t.cycles++
			dst = append(dst, ProgressEvent{Kind: t.tone.Kind, Cycles: t.cycles, At: at})
		}
		return dst
	}
	// Out of step: start again, aligning this segment with the first place it fits.
	t.cycles = 0
	t.phase = 0
	for i := range cad {
		if (i%2 == 0) == wasOn && cadenceMatch(cad[i], n) {
			t.phase = (i + 1) % len(cad)
			break
		}
	}
	return dst
}
