package dsp

// The dual-tone alerting signal: 2130 Hz + 2750 Hz. ETSI EN 300 659-1 clause 6.1.2 (DT-AS,
// sent after a polarity reversal before on-hook caller ID on UK-style networks; BT SIN 227
// calls it the Tone Alert Signal) and Telcordia GR-30-CORE / SR-TSV-002476 (the CPE Alerting
// Signal, CAS, before off-hook caller ID on call waiting) use the same pair: about 100 ms for
// DT-AS, 80 ms for CAS.
const (
	alertLow, alertHigh = 2130.0, 2750.0
	alertBlock          = 80 // 10 ms: 100 Hz resolution is ample for two tones 620 Hz apart
	// DefaultAlertMinLevelDBm0 is the weakest alerting tone accepted (EN 300 659-1 sends it at
	// -2 to -20 dBV-ish levels; GR-30 CAS at -14 to -32 dBm per tone).
	DefaultAlertMinLevelDBm0 = -38.0
	alertMaxTwist            = 6.0 // dB between the two tones
	alertPurity              = 0.7
	alertMinBlocks           = 6  // 60 ms
	alertMaxBlocks           = 13 // 130 ms
)

// Alert reports one dual-tone alerting signal.
type Alert struct {
	At     int64 // sample offset where it began
	Length int64 // samples
}

// AlertDetector finds the 2130+2750 Hz dual-tone alerting signal (DT-AS / CAS). It is not safe
// for concurrent use.
type AlertDetector struct {
	coefs    [4]float64
	minE     float64
	twist    float64
	block    [alertBlock]float64
	n        int
	pos      int64
	run      int   // consecutive blocks with the tone
	runStart int64 // where the run began
	gap      int   // blocks without the tone since the run (one is bridged)
}

// NewAlertDetector returns a detector; minLevelDBm0 of 0 takes DefaultAlertMinLevelDBm0.
func NewAlertDetector(minLevelDBm0 float64) *AlertDetector {
	if minLevelDBm0 == 0 {
		minLevelDBm0 = DefaultAlertMinLevelDBm0
	}
	return &AlertDetector{
		coefs: [4]float64{goertzelCoef(alertLow), goertzelCoef(alertHigh)},
		minE:  sineEnergy(minLevelDBm0, alertBlock),
		twist: dbRatio(alertMaxTwist),
	}
}

// Reset forgets all state.
func (a *AlertDetector) Reset() { *a = AlertDetector{coefs: a.coefs, minE: a.minE, twist: a.twist} }

// Process consumes samples and appends each alerting signal that ended in them to dst. A tone
// pair shorter than 60 ms or longer than 130 ms is not an alerting signal.
func (a *AlertDetector) Process(dst []Alert, samples []int16) []Alert {
	for _, s := range samples {
		a.block[a.n] = float64(s)
		a.n++
		if a.n < alertBlock {
			continue
		}
		a.n = 0
		start := a.pos
		a.pos += alertBlock
		e := goertzel4(&a.coefs, a.block[:])
		lo, hi := e[0], e[1]
		on := lo >= a.minE && hi >= a.minE && lo <= hi*a.twist && hi <= lo*a.twist &&
			lo+hi >= alertPurity*blockEnergy(a.block[:])
		switch {
		case on && a.run == 0:
			a.run, a.runStart, a.gap = 1, start, 0
		case on:
			a.run += a.gap + 1
			a.gap = 0
		case a.run > 0 && a.gap == 0:
			a.gap = 1 // bridge one block (a block straddling the tone's end is often impure)
		case a.run > 0:
			if a.run >= alertMinBlocks && a.run <= alertMaxBlocks {
				dst = append(dst, Alert{At: a.runStart, Length: int64(a.run) * alertBlock})
			}
			a.run, a.gap = 0, 0
		}
	}
	return dst
}
