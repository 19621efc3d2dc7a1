package dsp_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ringside/ringside/telephony/dsp"
	"github.com/ringside/ringside/telephony/dsp/dsptest"
)

// countryCodes returns the codes of every country the package knows, sorted.
func countryCodes() []string {
	var codes []string
	for code := range dsp.Countries() {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	return codes
}

// toneFreqSets returns every distinct set of frequencies any country's tones use.
func toneFreqSets() [][]float64 {
	var sets [][]float64
	for _, code := range countryCodes() {
		for _, tone := range dsp.Countries()[code].Tones {
			if !slices.ContainsFunc(sets, func(s []float64) bool { return slices.Equal(s, tone.Freqs) }) {
				sets = append(sets, tone.Freqs)
			}
		}
	}
	return sets
}

// burstSeeds is how many burst patterns each voice gets per frequency set, one at each level.
const burstSeeds = 6

// A caller talking with bursts at call-progress frequencies over the speech (whistling, a
// sing-song voice, an appliance beeping), at no cadence, in several languages and voices: no
// country's detector may report two cycles of any tone (where disconnect supervision acts),
// and the DTMF detector reports nothing. Issue 14 item 8: 440 Hz bursts over speech were taken
// for French reorder and hung the line up.
func TestProgressIgnoresSpeechWithToneBursts(t *testing.T) {
	dir := t.TempDir()
	codes, sets := countryCodes(), toneFreqSets()
	for _, v := range dsptest.Voices() {
		speech := dsptest.SpeechOf(t, dir, v, -20)
		t.Run(v.Name, func(t *testing.T) {
			for _, freqs := range sets {
				for seed := range uint64(burstSeeds) {
					level := []float64{-12, -18, -24, -30, -6, -9}[seed%6] // each frequency; speech is at -20 dBm0
					s := dsptest.AddBursts(speech, freqs, level, 150*time.Millisecond, 600*time.Millisecond, seed)
					what := fmt.Sprintf("%v Hz bursts at %v dBm0 (seed %d)", freqs, level, seed)
					if got := dsp.DetectDTMF(s); got != "" {
						t.Errorf("%s: DTMF digits %q", what, got)
					}
					for _, code := range codes {
						for _, ev := range dsp.NewProgressDetector(dsp.Countries()[code], 0, 0).Process(nil, s) {
							if ev.Cycles >= 2 {
								t.Errorf("%s: %s %v for %d cycles at %v", what, code, ev.Kind, ev.Cycles, dsp.Duration(ev.At))
							}
						}
					}
				}
			}
		})
	}
}

// The stricter cadence matching still hears every country's real tones when a caller hung up
// mid-sentence: speech, then five cycles of the tone, with the echo of the agent still talking
// 25 dB below the tone, on a quiet line and on one whose noise is only 12 dB below the tone
// (white over the whole band; doc.go's figure).
func TestProgressTonesAfterSpeech(t *testing.T) {
	dir := t.TempDir()
	voices := dsptest.Voices()
	for ci, code := range countryCodes() {
		c := dsp.Countries()[code]
		v := voices[ci%len(voices)]
		speech := dsptest.SpeechOf(t, dir, v, -20)
		for _, tone := range c.Tones {
			if len(tone.Cadence) == 0 {
				continue
			}
			t.Run(fmt.Sprintf("%s-%v", code, tone.Kind), func(t *testing.T) {
				for _, c2 := range []struct{ level, snr float64 }{{-15, 30}, {-30, 30}, {-20, 12}} {
					level := c2.level
					s := dsp.AppendProgressTone(slices.Clone(speech), tone, 5, level)
					echo := dsptest.Normalize(speech, level-25)
					for i := range min(len(echo), len(s)-len(speech)) {
						s[len(speech)+i] = int16(max(min(int32(s[len(speech)+i])+int32(echo[i]), 32767), -32768))
					}
					s = dsptest.AddNoise(s, level-c2.snr, uint64(ci))
					cycles := map[dsp.ToneKind]int{}
					for _, ev := range dsp.NewProgressDetector(c, 0, 0).Process(nil, s) {
						if dsp.Duration(ev.At) < dsp.Duration(int64(len(speech))) && ev.Cycles >= 2 {
							t.Errorf("%v dBm0: %v for %d cycles during the speech", level, ev.Kind, ev.Cycles)
						}
						cycles[ev.Kind] = max(cycles[ev.Kind], ev.Cycles)
					}
					if cycles[tone.Kind] < 4 {
						t.Errorf("%v dBm0, noise %v dB below, after %s speech: %v seen for %d of 5 cycles (all: %v)",
							level, c2.snr, v.Name, tone.Kind, cycles[tone.Kind], cycles)
					}
				}
			})
		}
	}
}
