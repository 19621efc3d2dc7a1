package dsp_test

import (
	"testing"
	"time"

	"github.com/ringside/ringside/telephony/dsp"
)

// appendTwisted appends a key as DTMF with its row tone at rowDBm0 and its column tone at
// colDBm0 for on, then off of silence.
func appendTwisted(t *testing.T, dst []int16, key byte, rowDBm0, colDBm0 float64, on, off time.Duration) []int16 {
	t.Helper()
	f, ok := dtmfKeyFreqs[key]
	if !ok {
		t.Fatalf("key %q", key)
	}
	row := dsp.AppendTone(nil, []float64{float64(f[0])}, rowDBm0, on)
	col := dsp.AppendTone(nil, []float64{float64(f[1])}, colDBm0, on)
	for i := range row {
		row[i] += col[i]
	}
	return dsp.AppendSilence(append(dst, row...), off)
}

// Issue 14 item 9: the documented twist limits (8 dB normal: high group weaker; 4 dB reverse:
// high group stronger) accept all sixteen keys, at any level and block alignment, and 3 dB
// beyond them every key is refused, as dtmf.go says.
func TestDTMFTwistLimits(t *testing.T) {
	const keys = "123A456B789C*0#D"
	cases := []struct {
		name   string
		twist  float64 // row level minus column level, dB
		accept bool
	}{
		{"normal at limit", dsp.DefaultDTMFMaxTwistDB, true},
		{"reverse at limit", -dsp.DefaultDTMFMaxRevTwistDB, true},
		{"normal 3 dB beyond", dsp.DefaultDTMFMaxTwistDB + 3, false},
		{"reverse 3 dB beyond", -dsp.DefaultDTMFMaxRevTwistDB - 3, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, strong := range []float64{-6, -9, -16, -26} { // the weaker tone stays above -37 dBm0
				row, col := strong, strong-c.twist
				if c.twist < 0 {
					row, col = strong+c.twist, strong
				}
				for lead := 0; lead < 102; lead += 2 { // where the digits fall against the detector's blocks
					s := dsp.AppendSilence(nil, time.Duration(lead)*time.Second/8000)
					for i := 0; i < len(keys); i++ {
						s = appendTwisted(t, s, keys[i], row, col, 60*time.Millisecond, 60*time.Millisecond)
					}
					want := ""
					if c.accept {
						want = keys
					}
					if got := dsp.DetectDTMF(s); got != want {
						t.Errorf("row %v dBm0, column %v dBm0, lead %d: got %q, want %q",
							row, col, lead, got, want)
					}
				}
			}
		})
	}
}
