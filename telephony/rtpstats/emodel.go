package rtpstats

import (
	"math"
	"time"
)

// G.107 default values (table 3) and the figures derived from them.
const (
	// ro is the basic signal-to-noise ratio Ro with default SLR, RLR, Ps, Pr, Nc, Nfor (clause 7.1).
	ro = 94.77
	// roe equals Ro with default values: Roe = -1.5 (No - RLR) with No = -61.18 dB.
	roe = 94.77
	// is is the simultaneous impairment factor Is with defaults (Iolr + Ist + Iq, clause 7.2).
	is   = 1.41
	telr = 65.0  // talker echo loudness rating, dB
	wepl = 110.0 // weighted echo path loss, dB
)

// RFactor is the G.107 transmission rating for G.711 (Ie = 0, random loss) with lossPercent packet
// loss Ppl, one-way delay Ta and packet-loss robustness bpl. Every other parameter is at its G.107
// default, with the mean one-way echo delay T = Ta and round-trip delay Tr = 2 Ta.
func RFactor(lossPercent float64, ta time.Duration, bpl float64) float64 {
	if lossPercent < 0 {
		lossPercent = 0
	}
	if lossPercent > 100 {
		lossPercent = 100
	}
	d := float64(ta) / float64(time.Millisecond)
	if d < 0 {
		d = 0
	}
	return ro - is - delayImpairment(d, d, 2*d) - ieEff(0, lossPercent, bpl, 1)
}

// ieEff is G.107 clause 7.4 (formula 7-29): Ie,eff = Ie + (95 - Ie) Ppl / (Ppl/BurstR + Bpl).
func ieEff(ie, ppl, bpl, burstR float64) float64 {
	return ie + (95-ie)*ppl/(ppl/burstR+bpl)
}

// delayImpairment is Id = Idte + Idle + Idd of G.107 clause 7.3, delays in ms.
func delayImpairment(t, ta, tr float64) float64 {
	// Talker echo, formulas 7-19 to 7-21 (STMR default 15 dB needs no correction).
	terv := telr - 40*math.Log10((1+t/10)/(1+t/150)) + 6*math.Exp(-0.3*t*t)
	re := 80 + 2.5*(terv-14)
	idte := ((roe-re)/2 + math.Sqrt((roe-re)*(roe-re)/4+100) - 1) * (1 - math.Exp(-t))
	// Listener echo, formulas 7-23 and 7-24.
	rle := 10.5 * (wepl + 7) * math.Pow(tr+1, -0.25)
	idle := (ro-rle)/2 + math.Sqrt((ro-rle)*(ro-rle)/4+169)
	// Absolute delay, formulas 7-25 to 7-27 (mT = 100 ms, sT = 1 by default).
	idd := 0.0
	if ta > 100 {
		x := math.Log2(ta / 100)
		idd = 25 * (math.Pow(1+math.Pow(x, 6), 1.0/6) - 3*math.Pow(1+math.Pow(x/3, 6), 1.0/6) + 2)
	}
	return idte + idle + idd
}

// MOS converts a transmission rating R to the estimated mean opinion score (G.107 annex B, B-4).
func MOS(r float64) float64 {
	switch {
	case r <= 0:
		return 1
	case r >= 100:
		return 4.5
	}
	m := 1 + 0.035*r + r*(r-60)*(100-r)*7e-6
	if m < 1 {
		// The cubic dips just below 1 for R under about 6.5; G.107 clamps the scale at 1.
		m = 1
	}
	return m
}
