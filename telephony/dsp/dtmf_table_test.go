package dsp_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringside/ringside/telephony/dsp"
	"github.com/ringside/ringside/telephony/dsp/dsptest"
)

// soxTwistedKey has sox synthesise one key with its row tone at rowDBm0 and its column tone at
// colDBm0, on for on and followed by off of silence.
func soxTwistedKey(t *testing.T, path string, key byte, rowDBm0, colDBm0 float64, on, off time.Duration) {
	t.Helper()
	f := dtmfKeyFreqs[key]
	vol := func(dbm0 float64) string { // sox's full-scale sine is +3.17 dBm0
		return strconv.FormatFloat(math.Pow(10, (dbm0-3.17)/20), 'f', 6, 64)
	}
	dsptest.Run(t, nil, "sox", "-D", "-n", "-r", "8000", "-c", "1", "-b", "16", path,
		"synth", fmt.Sprint(on.Seconds()), "sine", fmt.Sprint(f[0]), "sine", fmt.Sprint(f[1]),
		"remix", "1v"+vol(rowDBm0)+",2v"+vol(colDBm0), "pad", "0", fmt.Sprint(off.Seconds()))
}

// matchDigits returns how many of sent were detected in order (the longest common subsequence
// of sent and got) and how many detected digits are false (the rest of got).
func matchDigits(sent, got string) (hits, false int) {
	prev := make([]int, len(got)+1)
	for i := 1; i <= len(sent); i++ {
		cur := make([]int, len(got)+1)
		for j := 1; j <= len(got); j++ {
			switch {
			case sent[i-1] == got[j-1]:
				cur[j] = prev[j-1] + 1
			default:
				cur[j] = max(prev[j], cur[j-1])
			}
		}
		prev = cur
	}
	return prev[len(got)], len(got) - prev[len(got)]
}

// dtmfCell is one cell of the robustness table: keys detected of keys sent, and false digits.
type dtmfCell struct{ sent, ours, oursFalse, mm, mmFalse int }

// dtmfRobustness sends every key, in a shuffled order per trial, made by sox with the given twist
// (row level minus column level: positive is normal twist, the high group weaker) around
// -13 dBm0 per tone, adds white noise snr dB below the two tones' power, and decodes it with
// our detector and with multimon-ng -a DTMF.
func dtmfRobustness(t *testing.T, dir string, snr, twist float64, trials int) dtmfCell {
	t.Helper()
	const keys = "123A456B789C*0#D"
	row, col := -13+twist/2, -13-twist/2
	var parts [len(keys)]string
	for i := range len(keys) {
		parts[i] = filepath.Join(dir, fmt.Sprintf("key%d-tw%g.wav", i, twist))
		if _, err := os.Stat(parts[i]); err != nil {
			soxTwistedKey(t, parts[i], keys[i], row, col, 70*time.Millisecond, 70*time.Millisecond)
		}
	}
	tone := 10 * math.Log10(math.Pow(10, row/10)+math.Pow(10, col/10))
	var c dtmfCell
	for trial := range trials {
		seed := uint64(trial)*1000 + uint64(snr*10) + uint64(twist+100)
		order := []byte(keys)
		rand.New(rand.NewPCG(seed, 14)).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		var files []string
		for _, k := range order {
			files = append(files, parts[strings.IndexByte(keys, k)])
		}
		name := fmt.Sprintf("snr%g-tw%g-%d", snr, twist, trial)
		clean := filepath.Join(dir, name+"-clean.wav")
		dsptest.Run(t, nil, "sox", append(files, clean, "pad", "0.2", "0.3")...)
		s := dsptest.AddNoise(dsptest.Load(t, clean, 0), tone-snr, seed)
		wav := filepath.Join(dir, name+".wav")
		dsptest.WriteWAV(t, wav, s)
		sent := string(order)
		ours := dsp.DetectDTMF(s)
		h, f := matchDigits(sent, ours)
		if h < len(sent) && os.Getenv("RINGSIDE_DTMF_TABLE_DEBUG") != "" {
			t.Logf("%s: sent %s, ours %s", name, sent, ours)
		}
		c.ours += h
		c.oursFalse += f
		h, f = matchDigits(sent, multimonDTMF(t, wav))
		c.mm += h
		c.mmFalse += f
		c.sent += len(sent)
	}
	return c
}

// TestDTMFRobustnessTable compares our DTMF detector with multimon-ng over signal-to-noise ratio
// and twist. By default it runs a short version and checks ours: every key and no false digit
// within the twist limits at 30 and 15 dB (Q.24's receivers work down to about 15 dB), none past
// the reverse limit. With RINGSIDE_DTMF_TABLE=N it prints the whole table (SNR 30/20/15/10/6 dB,
// twist -8 to +8 dB, N trials of 16 keys per cell) for the README:
//
//	RINGSIDE_DTMF_TABLE=5 go test ./telephony/dsp/ -run TestDTMFRobustnessTable -v -count=1
//
// RINGSIDE_DTMF_TABLE_DEBUG=1 also logs, for each trial where we missed a key, what was sent and what we
// detected.
func TestDTMFRobustnessTable(t *testing.T) {
	dsptest.RequireTool(t, "sox")
	dsptest.RequireTool(t, "multimon-ng")
	dir := t.TempDir()
	trials, _ := strconv.Atoi(os.Getenv("RINGSIDE_DTMF_TABLE"))
	if trials <= 0 {
		for _, snr := range []float64{30, 15} {
			for _, twist := range []float64{dsp.DefaultDTMFMaxTwistDB, -dsp.DefaultDTMFMaxRevTwistDB, -dsp.DefaultDTMFMaxRevTwistDB - 4} {
				c := dtmfRobustness(t, dir, snr, twist, 1)
				t.Logf("SNR %g dB, twist %+g dB: ours %d/%d (%d false), multimon-ng %d/%d (%d false)",
					snr, twist, c.ours, c.sent, c.oursFalse, c.mm, c.sent, c.mmFalse)
				want := c.sent
				if twist < -dsp.DefaultDTMFMaxRevTwistDB {
					want = 0
				}
				if c.ours != want || c.oursFalse != 0 {
					t.Errorf("SNR %g dB, twist %+g dB: detected %d of %d keys with %d false, want %d and none false",
						snr, twist, c.ours, c.sent, c.oursFalse, want)
				}
			}
		}
		return
	}
	twists := []float64{-8, -6, -4, 4, 6, 8}
	var b strings.Builder
	fmt.Fprintf(&b, "keys detected/sent (false digits), %d trials of 16 keys per cell; twist = row minus column level\n", trials)
	fmt.Fprintf(&b, "| SNR | decoder |")
	for _, tw := range twists {
		fmt.Fprintf(&b, " %+g dB |", tw)
	}
	b.WriteString("\n|---|---|" + strings.Repeat("---|", len(twists)) + "\n")
	for _, snr := range []float64{30, 20, 15, 10, 6} {
		var ours, mm strings.Builder
		for _, tw := range twists {
			c := dtmfRobustness(t, dir, snr, tw, trials)
			fmt.Fprintf(&ours, " %d/%d (%d) |", c.ours, c.sent, c.oursFalse)
			fmt.Fprintf(&mm, " %d/%d (%d) |", c.mm, c.sent, c.mmFalse)
		}
		fmt.Fprintf(&b, "| %g dB | ours |%s\n| | multimon-ng |%s\n", snr, ours.String(), mm.String())
	}
	t.Log("\n" + b.String())
}
