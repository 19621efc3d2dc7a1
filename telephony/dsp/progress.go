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
	// cadenceJitter is how far a cadence element may differ from the same element of the cycle
	// before: an exchange's tone generator runs its cadence from one timer, so only our 20 ms
	// blocks and the debounce (a block at each end) move it. Speech and music that happen to
	// fall within the wider tolerance above once rarely repeat the same lengths to 50 ms.
	cadenceJitter = 50 * time.Millisecond
	// segmentPurity: over a whole on-period (its edge blocks aside) the tone's frequencies must
	// carry this share of the energy, everything else 10 dB below them. A real tone does this
	// with the line's noise 12 dB down; speech with a tone-like burst over it rarely does.
	segmentPurity = 0.90
	// offDepthDB: the off-periods of a cadence are silence or steady line noise, so every block
	// of an off-period (its edge blocks aside) must be this far below the tone's level in the
	// on-period before it. Speech between tone-like bursts has syllables louder than that.
	offDepthDB = 15.0
	// offNoiseDepthDB and offSteadyDB: an off-period may be louder than offDepthDB allows when
	// it is steady line noise, which no block of exceeds the period's mean by offSteadyDB
	// (white noise over 160 samples stays within about 1.5 dB), and whose mean is this far below
	// the tone: a tone heard 12 dB or more above the line's noise is still recognised.
	offNoiseDepthDB = 10.0
	offSteadyDB     = 3.0
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

	seg       segmentStats  // the current segment's blocks, pending ones apart
	pendStats [2]blockStats // the blocks that disagree with on (pend of them)
	onTone    float64       // mean tone energy per block of the last on-period
	lens      []int64       // length of each cadence element when last matched in this run
	matched   int           // segments matched in a row in this run
}

// blockStats is one block's energy at the tone's frequencies and in all.
type blockStats struct{ tone, total float64 }

// segmentStats sums the blocks of one on or off segment; the first and last block, which a
// cadence edge may cut, are kept apart so the sums cover only whole blocks of the segment.
type segmentStats struct {
	first, last blockStats
	inner       blockStats // the sums of every block between first and last
	loudest     float64    // the most energy in one of those blocks
	n           int
}

func (s *segmentStats) add(b blockStats) {
	switch s.n {
	case 0:
		s.first = b
	case 1:
		s.last = b
	default:
		s.inner.tone += s.last.tone
		s.inner.total += s.last.total
		s.loudest = max(s.loudest, s.last.total)
		s.last = b
	}
	s.n++
}

// ProgressDetector recognises a country's busy, reorder and dial tones. Every 20 ms block is
// tested, per tone, with Goertzel filters at the tone's frequencies: the block is "on" when
// each frequency is above the minimum level and together they carry most of the block's
// energy. States are debounced over two blocks. Each segment is then judged whole, as an
// exchange sends it: an on-period must be pure over its length (segmentPurity), every block of
// an off-period must be quiet next to the tone (offDepthDB), the segment's length must fit the
// element of the cadence expected next (the tolerance in doc.go) and differ little from the same
// element of the cycle before (cadenceJitter). Each completed cycle is reported. A disconnect
// supervisor typically hangs up after two or three cycles, which speech, music and hold music do
// not produce, even with bursts at the tone's frequencies in them: their off-periods are not
// quiet and their lengths wander. It is not safe for concurrent use.
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
		tr := toneTrack{tone: t, lens: make([]int64, len(t.Cadence))}
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
		t.seg, t.onTone, t.matched = segmentStats{}, 0, 0
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

// block returns the current block's energy at the tone's frequencies and whether it is "on":
// every frequency above the minimum level and together most of the block's energy.
func (t *toneTrack) block(p *ProgressDetector, total float64) (blockStats, bool) {
	b := blockStats{total: total}
	on := true
	for _, i := range t.bins {
		e := p.energy[i]
		if e < p.minE {
			on = false
		}
		b.tone += e
	}
	return b, on && b.tone >= p.purity*total
}

func (t *toneTrack) update(dst []ProgressEvent, p *ProgressDetector, total float64) []ProgressEvent {
	b, on := t.block(p, total)
	t.segLen += progressBlock
	if on == t.on {
		for _, pb := range t.pendStats[:t.pend] { // a blip: its blocks belong to the segment
			t.seg.add(pb)
		}
		t.seg.add(b)
		t.pend = 0
	} else {
		t.pendStats[t.pend] = b
		t.pend++
		if t.pend >= 2 { // debounced change: the segment ended two blocks ago
			ended := t.segLen - 2*progressBlock
			dst = t.segmentEnded(dst, t.on, ended, p.pos)
			t.on, t.pend, t.segLen = on, 0, 2*progressBlock
			t.seg = segmentStats{}
			t.seg.add(t.pendStats[0])
			t.seg.add(t.pendStats[1])
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
			t.phase, t.cycles, t.matched = 0, 0, 0
		}
	}
	return dst
}

// segmentClean tells whether the segment that just ended looks like part of a cadence over its
// whole length, not just block by block: an on-period pure (segmentPurity), an off-period
// offDepthDB below the on-period before it. It records the on-period's level for that test.
func (t *toneTrack) segmentClean(wasOn bool) bool {
	s := &t.seg
	if s.n < 3 {
		return false // shorter than any cadence element
	}
	inner := float64(s.n - 2)
	if wasOn {
		t.onTone = s.inner.tone / inner
		return s.inner.tone >= segmentPurity*s.inner.total
	}
	if t.onTone == 0 {
		return false
	}
	if s.loudest <= t.onTone/dbRatio(offDepthDB) {
		return true
	}
	// Louder: only steady noise will do, as on a noisy line; speech has syllables and gaps.
	mean := s.inner.total / inner
	return s.loudest <= mean*dbRatio(offSteadyDB) && mean <= t.onTone/dbRatio(offNoiseDepthDB)
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

// segmentEnded handles a finished segment of state wasOn and length n samples: it advances the
// cadence when the segment is clean (segmentClean), has the length the cadence expects next, and
// the length this element had in the cycle before (cadenceJitter).
func (t *toneTrack) segmentEnded(dst []ProgressEvent, wasOn bool, n, at int64) []ProgressEvent {
	if !wasOn {
		t.dialAt = 0
	}
	cad := t.tone.Cadence
	if len(cad) == 0 {
		t.cycles = 0
		return dst
	}
	clean := t.segmentClean(wasOn)
	isOn := t.phase%2 == 0
	if clean && wasOn == isOn && cadenceMatch(cad[t.phase], n) &&
		(t.matched < len(cad) || absDiff(n, t.lens[t.phase]) <= int64(Samples(cadenceJitter))) {
		t.lens[t.phase] = n
		t.matched++
		t.phase++
		if t.phase == len(cad) {
			t.phase = 0
			t.cycles++
			dst = append(dst, ProgressEvent{Kind: t.tone.Kind, Cycles: t.cycles, At: at})
		}
		return dst
	}
	// Out of step: start again, aligning this segment with the first place it fits.
	t.cycles, t.phase, t.matched = 0, 0, 0
	if !clean {
		return dst
	}
	for i := range cad {
		if (i%2 == 0) == wasOn && cadenceMatch(cad[i], n) {
			t.lens[i] = n
			t.matched = 1
			t.phase = (i + 1) % len(cad)
			break
		}
	}
	return dst
}

func absDiff(a, b int64) int64 {
	if a > b {
		return a - b
	}
	return b - a
}
