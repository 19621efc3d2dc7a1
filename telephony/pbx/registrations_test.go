package pbx

import (
	"testing"
	"time"
)

// TestRemainingLife: a stored binding lives until it was granted plus the interval granted, by the
// wall clock, but never longer than that interval from now (a clock set back, or a binding stamped
// in 1970's future, must not make it live for years) nor than the registrar's maximum.
func TestRemainingLife(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name    string
		at      time.Time
		expires time.Duration
		left    time.Duration
		ok      bool
	}{
		{"half used", now.Add(-30 * time.Minute), time.Hour, 30 * time.Minute, true},
		{"just granted", now, time.Hour, time.Hour, true},
		{"lapsed", now.Add(-2 * time.Hour), time.Hour, 0, false},
		{"lapsed to the millisecond", now.Add(-time.Hour), time.Hour, 0, false},
		{"clock set back a year since", now.AddDate(1, 0, 0), 10 * time.Minute, 10 * time.Minute, true},
		{"stamped in 1970, clock now set", time.Unix(3600, 0), time.Hour, 0, false},
		{"longer than the registrar grants", now, 3 * time.Hour, DefaultMaxExpires, true},
		{"no interval", now, 0, 0, false},
		{"negative interval", now.Add(time.Hour), -time.Hour, 0, false},
	} {
		left, ok := remainingLife(Registration{At: c.at, Expires: c.expires}, now, DefaultMaxExpires)
		if left != c.left || ok != c.ok {
			t.Errorf("%s: %v, %v; want %v, %v", c.name, left, ok, c.left, c.ok)
		}
	}
}
