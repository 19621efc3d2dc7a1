package dsp_test

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ringside/ringside/telephony/dsp"
	"github.com/ringside/ringside/telephony/dsp/dsptest"
)

var dtmfKeyFreqs = func() map[byte][2]int {
	m := map[byte][2]int{}
	keys := "123A456B789C*0#D"
	rows := []int{697, 770, 852, 941}
	cols := []int{1209, 1336, 1477, 1633}
	for i := 0; i < len(keys); i++ {
		m[keys[i]] = [2]int{rows[i/4], cols[i%4]}
	}
	return m
}()

// soxDTMF has sox synthesise digits, each with its own on and off time (ms) and per-tone level.
func soxDTMF(t *testing.T, dir, name, digits string, on, off []int, levelDBm0 float64) string {
	t.Helper()
	var files []string
	for i := 0; i < len(digits); i++ {
		f := dtmfKeyFreqs[digits[i]]
		p := filepath.Join(dir, fmt.Sprintf("%s-%d.wav", name, i))
		// remix 1,2 averages the two full-scale sines: each is then at -2.85 dBm0.
		dsptest.Run(t, nil, "sox", "-D", "-n", "-r", "8000", "-c", "1", "-b", "16", p,
			"synth", fmt.Sprint(float64(on[i])/1000), "sine", fmt.Sprint(f[0]), "sine", fmt.Sprint(f[1]),
			"remix", "1,2", "gain", fmt.Sprint(levelDBm0+2.85), "pad", "0", fmt.Sprint(float64(off[i])/1000))
		files = append(files, p)
	}
	out := filepath.Join(dir, name+".wav")
	dsptest.Run(t, nil, "sox", append(files, out, "pad", "0.2", "0.5")...)
	return out
}

// multimonDTMF runs multimon-ng's DTMF decoder on a WAV file (converted to its 22,050 Hz rate).
func multimonDTMF(t *testing.T, wav string) string {
	t.Helper()
	raw := strings.TrimSuffix(wav, ".wav") + ".22k.raw"
	dsptest.Run(t, nil, "sox", "-D", wav, "-t", "raw", "-e", "signed", "-b", "16", "-c", "1", "-r", "22050", raw)
	out := dsptest.Run(t, nil, "multimon-ng", "-q", "-a", "DTMF", "-t", "raw", raw)
	var b strings.Builder
	for _, line := range strings.Split(string(out), "\n") {
		if k, ok := strings.CutPrefix(line, "DTMF: "); ok {
			b.WriteString(strings.TrimSpace(k))
		}
	}
	return b.String()
}

func TestDTMFAgreesWithMultimon(t *testing.T) {
	dsptest.RequireTool(t, "sox")
	dsptest.RequireTool(t, "multimon-ng")
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(8, 8))
	keys := "0123456789ABCD*#"
	for i := range 8 {
		n := 8 + rng.IntN(12)
		var digits []byte
		var on, off []int
		for range n {
			digits = append(digits, keys[rng.IntN(len(keys))])
			on = append(on, 50+rng.IntN(100)) // Q.24: 40 ms must be accepted; multimon-ng wants more
			off = append(off, 50+rng.IntN(100))
		}
		level := []float64{-8, -15, -25, -30}[i%4]
		name := fmt.Sprintf("seq%d", i)
		t.Run(name, func(t *testing.T) {
			wav := soxDTMF(t, dir, name, string(digits), on, off, level)
			s := dsptest.Load(t, wav, 0)
			if i >= 4 { // noise 20 dB below the two tones' total power
				s = dsptest.AddNoise(s, level+3-20, uint64(i))
				wav = filepath.Join(dir, name+"-noisy.wav")
				dsptest.WriteWAV(t, wav, s)
			}
			ours := dsp.DetectDTMF(s)
			theirs := multimonDTMF(t, wav)
			if ours != theirs {
				t.Errorf("level %v dBm0: we detected %q, multimon-ng %q", level, ours, theirs)
			}
			if ours != string(digits) {
				t.Errorf("level %v dBm0: we detected %q, sent %q", level, ours, digits)
			}
		})
	}
}

func TestDTMFTimingLimits(t *testing.T) {
	// Q.24: 40 ms tones and 40 ms pauses must be accepted; 20 ms tones rejected.
	ok, err := dsp.AppendDTMF(nil, "1470#", 40*time.Millisecond, 40*time.Millisecond, -20)
	if err != nil {
		t.Fatal(err)
	}
	if got := dsp.DetectDTMF(ok); got != "1470#" {
		t.Errorf("40 ms digits: got %q", got)
	}
	short, _ := dsp.AppendDTMF(nil, "1470#", 18*time.Millisecond, 60*time.Millisecond, -20)
	if got := dsp.DetectDTMF(short); got != "" {
		t.Errorf("18 ms digits: got %q", got)
	}
	// Too weak (-45 dBm0 per tone) and too much twist (row 12 dB above column).
	weak, _ := dsp.AppendDTMF(nil, "55", 80*time.Millisecond, 80*time.Millisecond, -45)
	if got := dsp.DetectDTMF(weak); got != "" {
		t.Errorf("weak digits: got %q", got)
	}
	tw := dsp.AppendTone(nil, []float64{770}, -10, 100*time.Millisecond)
	col := dsp.AppendTone(nil, []float64{1336}, -22, 100*time.Millisecond)
	for i := range tw {
		tw[i] += col[i]
	}
	if got := dsp.DetectDTMF(tw); got != "" {
		t.Errorf("12 dB twist: got %q", got)
	}
}

// fixtures are generated once per test and shared by its subtests.
type fixtures struct {
	speech, music, hold []int16
}

func makeFixtures(t *testing.T) fixtures {
	dir := t.TempDir()
	speech := dsptest.Speech(t, dir, 150)
	music := dsptest.Music(t, dir, 120)
	// Hold music: music with a spoken announcement over it every so often.
	hold := make([]int16, len(music))
	copy(hold, music)
	for i := 0; i < len(hold) && i < len(speech); i++ {
		if (i/(8000*20))%2 == 1 {
			hold[i] = int16(max(min(int32(hold[i])/2+int32(speech[i]), 32767), -32768))
		}
	}
	t.Logf("speech %.0f s at %.1f dBm0, music %.0f s at %.1f dBm0",
		float64(len(speech))/8000, dsptest.RMSDBm0(speech), float64(len(music))/8000, dsptest.RMSDBm0(music))
	return fixtures{speech: speech, music: music, hold: hold}
}

func TestNoFalseDetections(t *testing.T) {
	fx := makeFixtures(t)
	inputs := []struct {
		name string
		s    []int16
	}{{"speech", fx.speech}, {"music", fx.music}, {"hold music", fx.hold}}
	for _, in := range inputs {
		for _, gain := range []float64{0, 10} { // normal and loud
			s := fx.speech[:0:0]
			if gain == 0 {
				s = in.s
			} else {
				s = dsptest.Normalize(in.s, dsptest.RMSDBm0(in.s)+gain)
			}
			t.Run(fmt.Sprintf("%s+%gdB", in.name, gain), func(t *testing.T) {
				if got := dsp.DetectDTMF(s); got != "" {
					t.Errorf("DTMF talk-off: detected %q", got)
				}
				if got := dsp.NewAlertDetector(0).Process(nil, s); len(got) > 0 {
					t.Errorf("alerting signal talk-off: %d, first at %v", len(got), dsp.Duration(got[0].At))
				}
				for _, code := range []string{"US", "GB", "DE", "FR"} {
					c, err := dsp.LookupCountry(code)
					if err != nil {
						t.Fatal(err)
					}
					d := dsp.NewProgressDetector(c, 0, 0)
					for _, ev := range d.Process(nil, s) {
						if ev.Cycles >= 2 { // two cycles (dial: two seconds) is where supervision acts
							t.Errorf("%s: false %v after %d cycles at %v", code, ev.Kind, ev.Cycles, dsp.Duration(ev.At))
						}
					}
				}
			})
		}
	}
}

// soxCadence has sox synthesise a call-progress tone: cycles of the cadence (on/off ms), each
// frequency at levelDBm0.
func soxCadence(t *testing.T, dir, name string, freqs []int, cadence []int, cycles int, levelDBm0 float64) []int16 {
	t.Helper()
	var parts []string
	for i, ms := range cadence {
		p := filepath.Join(dir, fmt.Sprintf("%s-%d.wav", name, i))
		args := []string{"-D", "-n", "-r", "8000", "-c", "1", "-b", "16", p}
		if i%2 == 0 {
			args = append(args, "synth", fmt.Sprint(float64(ms)/1000))
			remix := []string{}
			for j, f := range freqs {
				args = append(args, "sine", fmt.Sprint(f))
				remix = append(remix, fmt.Sprint(j+1))
			}
			// remix averages the sines: each is at +3.17 - 20log10(n) dBm0.
			gain := levelDBm0 - 3.17
			if len(freqs) == 2 {
				gain += 6.02
			}
			args = append(args, "remix", strings.Join(remix, ","), "gain", fmt.Sprint(gain))
		} else {
			args = append(args, "trim", "0", fmt.Sprint(float64(ms)/1000))
		}
		dsptest.Run(t, nil, "sox", args...)
		parts = append(parts, p)
	}
	var all []string
	for range cycles {
		all = append(all, parts...)
	}
	out := filepath.Join(dir, name+".wav")
	dsptest.Run(t, nil, "sox", append(all, out)...)
	return dsptest.Load(t, out, 0)
}

func TestProgressTonesFromSox(t *testing.T) {
	dsptest.RequireTool(t, "sox")
	dir := t.TempDir()
	// The national plans, written out here from the sources in doc.go rather than taken from
	// the package's table.
	plans := []struct {
		country string
		kind    dsp.ToneKind
		freqs   []int
		cadence []int
	}{
		{"US", dsp.BusyTone, []int{480, 620}, []int{500, 500}},
		{"US", dsp.ReorderTone, []int{480, 620}, []int{250, 250}},
		{"US", dsp.ReorderTone, []int{480, 620}, []int{300, 200}}, // older US reorder
		{"GB", dsp.BusyTone, []int{400}, []int{375, 375}},
		{"GB", dsp.ReorderTone, []int{400}, []int{400, 350, 225, 525}},
		{"DE", dsp.BusyTone, []int{425}, []int{480, 480}},
		{"DE", dsp.ReorderTone, []int{425}, []int{240, 240}},
		{"FR", dsp.BusyTone, []int{440}, []int{500, 500}},
		{"FR", dsp.ReorderTone, []int{440}, []int{250, 250}},
	}
	for i, p := range plans {
		for _, cond := range []struct {
			label string
			level float64
			snr   float64
		}{{"nominal", -15, 0}, {"low", -30, 0}, {"noisy", -20, 20}} {
			name := fmt.Sprintf("%s-%v-%d-%s", p.country, p.kind, i, cond.label)
			t.Run(name, func(t *testing.T) {
				s := soxCadence(t, dir, name, p.freqs, p.cadence, 5, cond.level)
				// Speech before the tone, as when the far end hangs up mid-sentence.
				lead := dsp.AppendTone(nil, []float64{300, 1100}, -25, 700*time.Millisecond)
				s = append(lead, s...)
				if cond.snr > 0 {
					s = dsptest.AddNoise(s, cond.level-cond.snr, uint64(i))
				}
				c, err := dsp.LookupCountry(p.country)
				if err != nil {
					t.Fatal(err)
				}
				cycles := map[dsp.ToneKind]int{}
				for _, ev := range dsp.NewProgressDetector(c, 0, 0).Process(nil, s) {
					cycles[ev.Kind] = max(cycles[ev.Kind], ev.Cycles)
				}
				if cycles[p.kind] < 4 {
					t.Errorf("%v seen for %d of 5 cycles (all: %v)", p.kind, cycles[p.kind], cycles)
				}
				for k, n := range cycles {
					if k != p.kind && n >= 2 {
						t.Errorf("also saw %v for %d cycles", k, n)
					}
				}
			})
		}
	}
	// Dial tone: continuous.
	for _, p := range []struct {
		country string
		freqs   []int
	}{{"US", []int{350, 440}}, {"GB", []int{350, 440}}, {"DE", []int{425}}, {"FR", []int{440}}} {
		t.Run(p.country+"-dial", func(t *testing.T) {
			s := soxCadence(t, dir, p.country+"-dial", p.freqs, []int{3000}, 1, -15)
			c, _ := dsp.LookupCountry(p.country)
			best := 0
			for _, ev := range dsp.NewProgressDetector(c, 0, 0).Process(nil, s) {
				if ev.Kind == dsp.DialTone {
					best = max(best, ev.Cycles)
				} else {
					t.Errorf("dial tone taken for %v", ev.Kind)
				}
			}
			if best < 2 {
				t.Errorf("3 s of dial tone reported as %d s", best)
			}
		})
	}
}
