package dsp_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/ringside/ringside/telephony/dsp"
	"github.com/ringside/ringside/telephony/dsp/dsptest"
)

func TestAlertSignalFromSox(t *testing.T) {
	dsptest.RequireTool(t, "sox")
	dir := t.TempDir()
	for _, c := range []struct {
		ms    int
		level float64 // per tone
		want  int
	}{{100, -15, 1}, {80, -30, 1}, {100, -30, 1}, {30, -15, 0}, {300, -15, 0}} {
		t.Run(fmt.Sprintf("%dms-%gdBm0", c.ms, c.level), func(t *testing.T) {
			p := filepath.Join(dir, fmt.Sprintf("alert%d%g.wav", c.ms, c.level))
			dsptest.Run(t, nil, "sox", "-D", "-n", "-r", "8000", "-c", "1", "-b", "16", p,
				"synth", fmt.Sprint(float64(c.ms)/1000), "sine", "2130", "sine", "2750", "remix", "1,2",
				"gain", fmt.Sprint(c.level+2.85), "pad", "0.3", "0.3")
			s := dsptest.AddNoise(dsptest.Load(t, p, 0), c.level-20, 1)
			got := dsp.NewAlertDetector(0).Process(nil, s)
			if len(got) != c.want {
				t.Fatalf("got %d alerts (%v), want %d", len(got), got, c.want)
			}
			if c.want == 1 {
				if l := dsp.Duration(got[0].Length); l < time.Duration(c.ms-20)*time.Millisecond || l > time.Duration(c.ms+20)*time.Millisecond {
					t.Errorf("alert of %d ms measured %v", c.ms, l)
				}
				if at := dsp.Duration(got[0].At); at < 280*time.Millisecond || at > 320*time.Millisecond {
					t.Errorf("alert at 300 ms reported at %v", at)
				}
			}
		})
	}
}
