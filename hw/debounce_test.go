package hw

import (
	"testing"
	"time"
)

type sampleAt struct {
	at      time.Duration
	pressed bool
}

func runDebouncer(d *debouncer, t0 time.Time, samples []sampleAt) []Press {
	var got []Press
	for _, s := range samples {
		if p, ok := d.sample(t0.Add(s.at), s.pressed); ok {
			got = append(got, p)
		}
	}
	return got
}

func TestDebouncer(t *testing.T) {
	ms := func(v int) time.Duration { return time.Duration(v) * time.Millisecond }
	// every returns samples every 10 ms from a to b (exclusive) at one level.
	every := func(a, b int, pressed bool) []sampleAt {
		var s []sampleAt
		for x := a; x < b; x += 10 {
			s = append(s, sampleAt{ms(x), pressed})
		}
		return s
	}
	cat := func(parts ...[]sampleAt) []sampleAt {
		var s []sampleAt
		for _, p := range parts {
			s = append(s, p...)
		}
		return s
	}
	cases := []struct {
		name      string
		startHeld bool
		samples   []sampleAt
		want      []Press
	}{
		{"idle", false, every(0, 5000, false), nil},
		{"short", false, cat(every(0, 100, false), every(100, 400, true), every(400, 600, false)), []Press{ShortPress}},
		{"too short to count", false, cat(every(0, 100, false), every(100, 120, true), every(120, 600, false)), nil},
		{"bouncy short", false, cat(
			every(0, 100, false),
			[]sampleAt{{ms(101), true}, {ms(103), false}, {ms(105), true}, {ms(108), false}, {ms(112), true}},
			every(120, 500, true),
			[]sampleAt{{ms(502), false}, {ms(506), true}, {ms(509), false}},
			every(510, 900, false)), []Press{ShortPress}},
		{"long, reported while held", false, cat(every(0, 100, false), every(100, 2200, true)), []Press{LongPress}},
		{"long then release: one press only", false, cat(every(0, 100, false), every(100, 2500, true), every(2500, 3000, false)), []Press{LongPress}},
		{"just under long", false, cat(every(0, 100, false), every(100, 2090, true), every(2090, 2400, false)), []Press{ShortPress}},
		{"long seen only at release", false, []sampleAt{{0, false}, {ms(100), true}, {ms(140), true}, {ms(2500), false}, {ms(2600), false}}, []Press{LongPress}},
		{"held at start is ignored", true, cat(every(0, 3000, true), every(3000, 3200, false)), nil},
		{"held at start, then a real press", true, cat(every(0, 300, true), every(300, 500, false), every(500, 700, true), every(700, 900, false)), []Press{ShortPress}},
		{"two shorts", false, cat(every(0, 100, true)[:0], every(0, 100, false), every(100, 300, true), every(300, 500, false), every(500, 700, true), every(700, 900, false)), []Press{ShortPress, ShortPress}},
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := newDebouncer(30*time.Millisecond, 2*time.Second, t0, c.startHeld)
			got := runDebouncer(d, t0, c.samples)
			if len(got) != len(c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Fatalf("got %v, want %v", got, c.want)
				}
			}
		})
	}
}

// FuzzDebouncer feeds random sample sequences (each pair of bytes: a time
// step in ms and a level) and checks the debouncer's promises: at most one
// press per raw press, nothing without a press, nothing more after a long
// press until a release.
func FuzzDebouncer(f *testing.F) {
	f.Add([]byte{10, 0, 10, 1, 10, 1, 10, 1, 10, 1, 10, 0, 10, 0, 10, 0})
	f.Add([]byte{1, 1, 1, 0, 1, 1, 1, 0, 50, 1, 255, 1, 255, 1, 255, 1, 255, 1, 255, 1, 255, 1, 255, 1, 255, 1, 50, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		d := newDebouncer(30*time.Millisecond, 2*time.Second, t0, false)
		now := t0
		rises, events := 0, 0
		prev := false
		longOpen := false // a LongPress was reported and no release sample came since
		for i := 0; i+1 < len(data); i += 2 {
			now = now.Add(time.Duration(data[i]) * time.Millisecond)
			pressed := data[i+1]&1 == 1
			if pressed && !prev {
				rises++
			}
			if !pressed {
				longOpen = false
			}
			prev = pressed
			p, ok := d.sample(now, pressed)
			if !ok {
				continue
			}
			events++
			if p != ShortPress && p != LongPress {
				t.Fatalf("unknown press %v", p)
			}
			if longOpen {
				t.Fatalf("second press %v while the long press is still held", p)
			}
			if p == LongPress && pressed {
				longOpen = true
			}
			if events > rises {
				t.Fatalf("%d presses from %d raw presses", events, rises)
			}
		}
	})
}
