package callerid_test

import (
	"testing"

	"github.com/ringside/ringside/telephony/callerid"
	"github.com/ringside/ringside/telephony/dsp/dsptest"
)

// TestFSKNoiseMargin decodes frames from the package's own generator under white noise 12 dB
// below the signal (over the whole 4 kHz band, so about 15 dB in the FSK band), with 20
// different noise draws per standard. The minimodem tests cover 20 dB; this shows the margin.
func TestFSKNoiseMargin(t *testing.T) {
	want := callerid.Result{MessageType: callerid.TypeCallSetup, Number: "2125550123", Name: "SMITH JOHN",
		Time: callerid.DateTime{Month: 1, Day: 2, Hour: 3, Minute: 4}}
	frame, err := callerid.EncodeMDMF(want)
	if err != nil {
		t.Fatal(err)
	}
	for _, std := range []callerid.Standard{callerid.Bell202, callerid.V23} {
		want.Standard = std
		s, err := callerid.FSKSignal(std, frame, callerid.SeizureBits, callerid.MarkBits, -20)
		if err != nil {
			t.Fatal(err)
		}
		s = append(make([]int16, 800), s...)
		failed := 0
		for seed := range 20 {
			got, err := callerid.Decode(std, dsptest.AddNoise(s, -32, uint64(seed)))
			if err != nil || got != want {
				failed++
				t.Logf("%v seed %d: %+v, %v", std, seed, got, err)
			}
		}
		if failed > 0 {
			t.Errorf("%v: %d of 20 frames lost at 12 dB SNR", std, failed)
		}
	}
}
