package dsp_test

import (
	"testing"
	"time"

	"github.com/ringside/ringside/telephony/dsp"
)

type edge struct {
	on bool
	at time.Duration
}

func countRings(rc *dsp.RingCounter, t0 time.Time, edges []edge) (counted []time.Duration) {
	for _, e := range edges {
		if _, ok := rc.Edge(e.on, t0.Add(e.at)); ok {
			counted = append(counted, e.at)
		}
	}
	return counted
}

func TestRingCounterCadences(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	ms := func(v int) time.Duration { return time.Duration(v) * time.Millisecond }
	// North America: 2 s on, 4 s off.
	var us []edge
	for i := range 3 {
		us = append(us, edge{true, ms(6000 * i)}, edge{false, ms(6000*i + 2000)})
	}
	rc := dsp.NewRingCounter(dsp.RingConfig{})
	if got := countRings(rc, t0, us); len(got) != 3 {
		t.Errorf("US cadence: counted %v", got)
	}
	if !rc.Ringing(t0.Add(ms(12000 + 2000 + 3000))) {
		t.Error("stopped ringing 3 s after the last ring")
	}
	if rc.Ringing(t0.Add(ms(12000 + 2000 + 6500))) {
		t.Error("still ringing 6.5 s after the last ring")
	}
	if got := rc.LastRingEnd(); !got.Equal(t0.Add(ms(14000))) {
		t.Errorf("last ring ended %v", got)
	}

	// UK double ring: 0.4 on, 0.2 off, 0.4 on, 2 off: one ring per pair.
	var uk []edge
	for i := range 3 {
		b := 3000 * i
		uk = append(uk, edge{true, ms(b)}, edge{false, ms(b + 400)}, edge{true, ms(b + 600)}, edge{false, ms(b + 1000)})
	}
	rc = dsp.NewRingCounter(dsp.RingConfig{})
	if got := countRings(rc, t0, uk); len(got) != 3 {
		t.Errorf("UK double ring: counted %v", got)
	}

	// A ring detector that reports every 25 Hz cycle (20 ms on, 20 ms off) for 1.5 s.
	var raw []edge
	for i := range 37 {
		raw = append(raw, edge{true, ms(40 * i)}, edge{false, ms(40*i + 20)})
	}
	rc = dsp.NewRingCounter(dsp.RingConfig{})
	if got := countRings(rc, t0, raw); len(got) != 1 {
		t.Errorf("raw 25 Hz pulses: counted %v", got)
	}

	// Clicks (50 ms) are not rings; a repeated state is ignored.
	rc = dsp.NewRingCounter(dsp.RingConfig{})
	if got := countRings(rc, t0, []edge{{true, 0}, {true, ms(10)}, {false, ms(50)}, {true, ms(5000)}, {false, ms(5050)}}); len(got) != 0 {
		t.Errorf("clicks: counted %v", got)
	}
	rc.Reset()
	if rc.Count() != 0 || rc.Ringing(t0) {
		t.Error("Reset kept state")
	}
}

func TestSilenceDetector(t *testing.T) {
	sd := dsp.NewSilenceDetector(0)
	talk := dsp.AppendTone(nil, []float64{300, 900}, -25, 500*time.Millisecond)
	if got := sd.Process(talk); got != 0 {
		t.Errorf("speech-level tone counted as %v of silence", got)
	}
	// Line noise at -60 dBm0 is silence; feed it in 20 ms chunks.
	quiet := dsp.AppendTone(nil, []float64{1000}, -60, 3*time.Second)
	var got time.Duration
	for i := 0; i < len(quiet); i += 160 {
		got = sd.Process(quiet[i:min(i+160, len(quiet))])
	}
	if got != 3*time.Second {
		t.Errorf("3 s of -60 dBm0: silent for %v", got)
	}
	if got := sd.Process(talk[:320]); got != 0 {
		t.Errorf("sound after silence: still silent for %v", got)
	}
	if sd.Silent() != 0 {
		t.Error("Silent disagrees with Process")
	}
}

func TestLookupCountry(t *testing.T) {
	for _, code := range []string{"us", "UK", "gb", "DE", "fr"} {
		c, err := dsp.LookupCountry(code)
		if err != nil {
			t.Errorf("%s: %v", code, err)
			continue
		}
		kinds := map[dsp.ToneKind]bool{}
		for _, tone := range c.Tones {
			kinds[tone.Kind] = true
		}
		if !kinds[dsp.BusyTone] || !kinds[dsp.ReorderTone] || !kinds[dsp.DialTone] {
			t.Errorf("%s lacks a tone: %v", code, kinds)
		}
	}
	if _, err := dsp.LookupCountry("XX"); err == nil {
		t.Error("unknown country accepted")
	}
}

func TestGeneratorLevels(t *testing.T) {
	// A generated tone's measured level is what was asked for.
	for _, lvl := range []float64{-10, -30} {
		s := dsp.AppendTone(nil, []float64{1004}, lvl, time.Second)
		var e float64
		for _, v := range s {
			e += float64(v) * float64(v)
		}
		if got := dsp.LevelDBm0(e / float64(len(s))); got < lvl-0.1 || got > lvl+0.1 {
			t.Errorf("tone at %v dBm0 measures %.2f", lvl, got)
		}
	}
	if _, err := dsp.AppendDTMF(nil, "12X", time.Millisecond, time.Millisecond, -10); err == nil {
		t.Error("AppendDTMF took X")
	}
}
