package dsp_test

import (
	"testing"
	"time"

	"github.com/ringside/ringside/telephony/dsp"
	"github.com/ringside/ringside/telephony/g711"
)

// Digits and tones that crossed a G.711 leg (an ATA, a SIP trunk) still decode: companding
// noise sits about 38 dB below the signal.
func TestDetectorsThroughG711(t *testing.T) {
	keys := "159#*0D"
	s, err := dsp.AppendDTMF(nil, keys, 60*time.Millisecond, 60*time.Millisecond, -25)
	if err != nil {
		t.Fatal(err)
	}
	de, _ := dsp.LookupCountry("DE")
	busy := dsp.AppendProgressTone(nil, de.Tones[1], 4, -30)
	for _, law := range []g711.Codec{g711.PCMU, g711.PCMA} {
		got := dsp.DetectDTMF(law.Decode(nil, law.Encode(nil, s)))
		if got != keys {
			t.Errorf("codec %d: DTMF %q, want %q", law, got, keys)
		}
		best := 0
		for _, ev := range dsp.NewProgressDetector(de, 0, 0).Process(nil, law.Decode(nil, law.Encode(nil, busy))) {
			if ev.Kind == dsp.BusyTone {
				best = max(best, ev.Cycles)
			}
		}
		if best < 3 {
			t.Errorf("codec %d: busy seen for %d cycles", law, best)
		}
	}
}
