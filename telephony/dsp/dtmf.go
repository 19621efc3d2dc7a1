package dsp

import "math"

// DTMF frequencies (ITU-T Q.23): the low (row) group and the high (column) group. Functions
// rather than variables, so no table can be changed at run time.
func dtmfRows() [4]float64 { return [4]float64{697, 770, 852, 941} }
func dtmfCols() [4]float64 { return [4]float64{1209, 1336, 1477, 1633} }

// dtmfKeys is the keypad laid out by row and column (ITU-T Q.23 figure 1).
const dtmfKeys = "123A456B789C*0#D"

// dtmfBlock is the Goertzel block length: 102 samples (12.75 ms) resolves the 73 Hz spacing of
// the low group while leaving at least two whole blocks inside a 40 ms tone, the shortest
// Q.24 says must be accepted.
const dtmfBlock = 102

// Defaults for DTMFConfig, chosen from ITU-T Q.24 and the DTMF CLIP receiver figures (Danish and
// Dutch networks): accept each tone from -36 dBm0 (we allow 1 dB for the block's frequency
// tolerance) and tones of 40 ms or longer.
//
// Twist is the level of the low (row) group over the high (column) group. Q.24 leaves its limits
// to national standards; we take the Bellcore/Telcordia figures that North American receivers
// are specified to and most detectors use: up to 8 dB of normal (forward) twist, the high group
// weaker, as a line's high-frequency loss makes it, and up to 4 dB of reverse twist, the high
// group stronger. A 102-sample block measures twist to about +-1 dB, and noise adds to that, so
// the detector compares it with the limit plus dtmfTwistAllowanceDB: every key is accepted at
// the limits (down to 10 dB signal-to-noise in the robustness table, see
// TestDTMFRobustnessTable), and refused from 3 dB beyond them (11 dB normal, 7 dB reverse). In
// between, the block decides.
const (
	DefaultDTMFMinLevelDBm0   = -37.0
	DefaultDTMFMaxTwistDB     = 8.0  // normal (forward) twist: high group weaker than low group
	DefaultDTMFMaxRevTwistDB  = 4.0  // reverse twist: high group stronger than low group
	DefaultDTMFRelativePeakDB = 8.0  // every other tone in a group must be this far below the winner
	DefaultDTMFEnergyRatio    = 0.70 // the two tones must carry this share of the block's energy
	DefaultDTMFMinBlocks      = 2    // consecutive blocks (25.5 ms) before a digit is accepted
)

// dtmfTwistAllowanceDB is added to the twist limits: a tone's energy over one 102-sample block
// moves by up to about 1 dB with its phase (the block holds no whole number of cycles, and the
// other tone leaks in), and noise moves it further, so a limit applied as it stands refuses half
// the keys sent right at it.
const dtmfTwistAllowanceDB = 2.0

// DTMFConfig holds the acceptance limits of a DTMFDetector. Zero fields take the defaults.
type DTMFConfig struct {
	MinLevelDBm0   float64 // weakest acceptable level of each tone
	MaxTwistDB     float64 // normal twist: how far the high group may be below the low group
	MaxRevTwistDB  float64 // reverse twist: how far the high group may be above the low group
	RelativePeakDB float64
	EnergyRatio    float64
	MinBlocks      int
}

func (c DTMFConfig) withDefaults() DTMFConfig {
	if c.MinLevelDBm0 == 0 {
		c.MinLevelDBm0 = DefaultDTMFMinLevelDBm0
	}
	if c.MaxTwistDB == 0 {
		c.MaxTwistDB = DefaultDTMFMaxTwistDB
	}
	if c.MaxRevTwistDB == 0 {
		c.MaxRevTwistDB = DefaultDTMFMaxRevTwistDB
	}
	if c.RelativePeakDB == 0 {
		c.RelativePeakDB = DefaultDTMFRelativePeakDB
	}
	if c.EnergyRatio == 0 {
		c.EnergyRatio = DefaultDTMFEnergyRatio
	}
	if c.MinBlocks == 0 {
		c.MinBlocks = DefaultDTMFMinBlocks
	}
	return c
}

// Digit is one accepted DTMF digit.
type Digit struct {
	Key byte // one of 0-9, A-D, * and #
	// At is the offset, in samples since the detector was created or reset, of the first block
	// in which the digit was seen.
	At int64
}

// DTMFDetector finds DTMF digits in a stream of 8 kHz samples. Each 102-sample block is tested
// with eight Goertzel filters and accepted as a digit when both groups have a clear winner
// above the minimum level, the twist is within limits, no other tone in either group comes
// close (relative peak), and the two tones carry most of the block's energy, which rejects
// speech and music whose energy is spread over harmonics (talk-off). The relative-peak test
// allows for what the other group's tone can leak into a filter through the block's sidelobes:
// at 8 dB twist a strong row tone adds enough to a weak column group's other filters to bring
// them within 8 dB of its winner. A digit is reported once, when it has been seen in MinBlocks
// consecutive blocks, and re-armed after MinBlocks blocks without it, so a single noisy block
// neither ends nor repeats a digit (Q.24 interruption tolerance). It is not safe for
// concurrent use; use one per line.
type DTMFDetector struct {
	cfg      DTMFConfig
	rowCoef  [4]float64
	colCoef  [4]float64
	minE     float64
	twist    float64
	revTwist float64
	relPeak  float64
	// rowLeak[c][i] is the most of a column tone c's energy that row filter i can pick up over
	// a block (its sidelobes, see leakGain); colLeak[r][i] likewise for a row tone r.
	rowLeak, colLeak [4][4]float64

	block [dtmfBlock]float64
	n     int   // samples in block
	pos   int64 // samples consumed before block

	prev     byte  // key of the previous block (0: none)
	run      int   // consecutive blocks with prev
	runStart int64 // sample offset where the run began
	current  byte  // key currently held down (0: none)
}

// NewDTMFDetector returns a detector with cfg's limits (zero fields take the defaults).
func NewDTMFDetector(cfg DTMFConfig) *DTMFDetector {
	cfg = cfg.withDefaults()
	d := &DTMFDetector{
		cfg:      cfg,
		minE:     sineEnergy(cfg.MinLevelDBm0, dtmfBlock),
		twist:    dbRatio(cfg.MaxTwistDB + dtmfTwistAllowanceDB),
		revTwist: dbRatio(cfg.MaxRevTwistDB + dtmfTwistAllowanceDB),
		relPeak:  dbRatio(cfg.RelativePeakDB),
	}
	rows, cols := dtmfRows(), dtmfCols()
	for i := range 4 {
		d.rowCoef[i] = goertzelCoef(rows[i])
		d.colCoef[i] = goertzelCoef(cols[i])
		for j := range 4 {
			d.rowLeak[j][i] = leakGain(cols[j], rows[i], dtmfBlock)
			d.colLeak[j][i] = leakGain(rows[j], cols[i], dtmfBlock)
		}
	}
	return d
}

// leakGain bounds the energy that a sine at f0 leaves in a Goertzel filter tuned to f1 over n
// samples, as a share of what the filter tuned to f0 sees: the rectangular window's sidelobe
// envelope at the distance between them, plus the same for the sine's negative-frequency image.
func leakGain(f0, f1 float64, n int) float64 {
	a := 1/math.Abs(float64(n)*math.Sin(math.Pi*(f1-f0)/SampleRate)) +
		1/math.Abs(float64(n)*math.Sin(math.Pi*(f1+f0)/SampleRate))
	return a * a
}

// clearOf tells whether a filter's energy e stays below what the relative-peak limit allows
// next to its group's winner (energy win) plus, as amplitudes add, the most that the other
// group's tone can leak into it (energy leak).
func (d *DTMFDetector) clearOf(e, win, leak float64) bool {
	return math.Sqrt(e) <= math.Sqrt(win/d.relPeak)+math.Sqrt(leak)
}

// Reset forgets all state, as if the detector were new.
func (d *DTMFDetector) Reset() {
	d.n, d.pos, d.prev, d.run, d.runStart, d.current = 0, 0, 0, 0, 0, 0
}

// Process consumes samples and appends every digit accepted in them to dst.
func (d *DTMFDetector) Process(dst []Digit, samples []int16) []Digit {
	for _, s := range samples {
		d.block[d.n] = float64(s)
		d.n++
		if d.n < dtmfBlock {
			continue
		}
		key := d.classify()
		start := d.pos
		d.pos += dtmfBlock
		d.n = 0
		if key == d.prev {
			d.run++
		} else {
			d.prev, d.run, d.runStart = key, 1, start
		}
		if d.run == d.cfg.MinBlocks && key != d.current {
			d.current = key
			if key != 0 {
				dst = append(dst, Digit{Key: key, At: d.runStart})
			}
		}
	}
	return dst
}

// classify returns the key whose tones fill the current block, or 0.
func (d *DTMFDetector) classify() byte {
	blk := d.block[:]
	rowE := goertzel4(&d.rowCoef, blk)
	colE := goertzel4(&d.colCoef, blk)
	r, c := 0, 0
	for i := range 4 {
		if rowE[i] > rowE[r] {
			r = i
		}
		if colE[i] > colE[c] {
			c = i
		}
	}
	er, ec := rowE[r], colE[c]
	if er < d.minE || ec < d.minE {
		return 0
	}
	if er > ec*d.twist || ec > er*d.revTwist {
		return 0
	}
	for i := range 4 {
		if i != r && !d.clearOf(rowE[i], er, ec*d.rowLeak[c][i]) {
			return 0
		}
		if i != c && !d.clearOf(colE[i], ec, er*d.colLeak[r][i]) {
			return 0
		}
	}
	if er+ec < d.cfg.EnergyRatio*blockEnergy(blk) {
		return 0
	}
	return dtmfKeys[r*4+c]
}

// DetectDTMF returns the digits in a whole buffer as a string, using the default limits.
func DetectDTMF(samples []int16) string {
	d := NewDTMFDetector(DTMFConfig{})
	digits := d.Process(nil, samples)
	b := make([]byte, len(digits))
	for i, dg := range digits {
		b[i] = dg.Key
	}
	return string(b)
}

// dtmfFreqs returns the row and column frequency of key, and false for a key that is not DTMF.
func dtmfFreqs(key byte) (row, col float64, ok bool) {
	for i := 0; i < len(dtmfKeys); i++ {
		if dtmfKeys[i] == key {
			return dtmfRows()[i/4], dtmfCols()[i%4], true
		}
	}
	return 0, 0, false
}
