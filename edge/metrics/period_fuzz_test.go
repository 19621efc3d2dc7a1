package metrics

import (
	"testing"
	"time"
)

// FuzzDayRange: any pair of strings either fails with an error or gives a period that starts at
// a local midnight, ends at a later one, and covers whole local days (23 to 25 hours each).
func FuzzDayRange(f *testing.F) {
	f.Add("2026-03-08", "2026-03-08")
	f.Add("2025-11-02", "2025-11-03")
	f.Add("2026-02-28", "2026-03-01")
	f.Add("2026-13-01", "2026-01-01")
	f.Add("", "2026-01-01")
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, first, last string) {
		p, err := DayRange(ny, first, last)
		if err != nil {
			return
		}
		if !p.From.Before(p.To) {
			t.Fatalf("%q..%q: empty period %v", first, last, p)
		}
		for _, x := range []time.Time{p.From, p.To} {
			l := x.In(ny)
			if l.Hour() != 0 || l.Minute() != 0 || l.Second() != 0 || l.Nanosecond() != 0 {
				t.Fatalf("%q..%q: %v is not a local midnight", first, last, l)
			}
		}
		a, b := p.days(ny)
		n := time.Duration(b - a + 1)
		if d := p.To.Sub(p.From); d < n*23*time.Hour || d > n*25*time.Hour {
			t.Fatalf("%q..%q: %v for %d days", first, last, d, n)
		}
		if fr := p.monthFraction(ny); fr <= 0 || fr > float64(n) {
			t.Fatalf("%q..%q: proration %v for %d days", first, last, fr, n)
		}
	})
}
