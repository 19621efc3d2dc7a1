package phone

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalize(t *testing.T) {
	cases := []struct {
		raw, region, want string
	}{
		{"+1 212 555 0100", "US", "+12125550100"},
		{"(212) 555-0101", "US", "+12125550101"},
		{"212.555.0102", "us", "+12125550102"}, // region case does not matter
		{"1-212-555-0103", "US", "+12125550103"},
		{"020 7946 0958", "GB", "+442079460958"},
		{"+44 (0)20 7946 0958", "US", "+442079460958"}, // a + number ignores the region
		{"030 1234567", "DE", "+49301234567"},
		{"00 49 30 1234567", "DE", "+49301234567"}, // international prefix written out
		{"011 44 20 7946 0958", "US", "+442079460958"},
		{"  +1 212 555 0100  ", "US", "+12125550100"},
		{"tel:+1-212-555-0100", "US", "+12125550100"}, // RFC 3966 form
	}
	for _, c := range cases {
		got, err := Normalize(c.raw, c.region)
		if err != nil || got != c.want {
			t.Errorf("Normalize(%q, %s) = %q, %v; want %q", c.raw, c.region, got, err, c.want)
		}
	}
}

func TestNormalizeWithheld(t *testing.T) {
	for _, raw := range []string{"", "  ", "anonymous", "Anonymous", "RESTRICTED", "Private", "unavailable",
		"unknown", "withheld", "blocked", "Out of Area", "O", "P"} {
		got, err := Normalize(raw, "US")
		if !errors.Is(err, ErrWithheld) || got != "" {
			t.Errorf("Normalize(%q) = %q, %v; want ErrWithheld", raw, got, err)
		}
	}
}

func TestNormalizeRefuses(t *testing.T) {
	for _, raw := range []string{
		"12", "hello", "+", "++1", "555", "+1 212 555 01000000000",
		strings.Repeat("1", MaxInputLength+1), "+1 212 555 0100\r\nVia: x",
	} {
		got, err := Normalize(raw, "US")
		if err == nil {
			t.Errorf("Normalize(%q) = %q, want an error", raw, got)
			continue
		}
		if errors.Is(err, ErrWithheld) {
			t.Errorf("Normalize(%q): %v, want a number error, not withheld", raw, err)
		}
	}
}

func TestValidRegion(t *testing.T) {
	for _, r := range []string{"US", "gb", "DE", "FR"} {
		if !ValidRegion(r) {
			t.Errorf("ValidRegion(%q) = false", r)
		}
	}
	for _, r := range []string{"", "XX", "USA", "001", "zz"} {
		if ValidRegion(r) {
			t.Errorf("ValidRegion(%q) = true", r)
		}
	}
}

// FuzzNormalize: whatever a caller, an ATA or a config file sends, Normalize does not panic; a number
// it returns is E.164 (a + and at most 15 digits, no leading zero) and normalises to itself.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"+1 212 555 0100", "(212) 555-0101", "anonymous", "020 7946 0958", "tel:+44-20-7946-0958"} {
		f.Add(s, "US")
	}
	f.Fuzz(func(t *testing.T, raw, region string) {
		got, err := Normalize(raw, region)
		if err != nil {
			if got != "" {
				t.Fatalf("Normalize(%q, %q) = %q with error %v", raw, region, got, err)
			}
			if errors.Is(err, ErrWithheld) && !withheldWords[strings.ToLower(strings.TrimSpace(raw))] {
				t.Fatalf("Normalize(%q) says withheld", raw)
			}
			return
		}
		if len(strings.TrimSpace(raw)) > MaxInputLength {
			t.Fatalf("Normalize accepted %d characters", len(raw))
		}
		if !isE164(got) {
			t.Fatalf("Normalize(%q, %q) = %q: not E.164", raw, region, got)
		}
		for _, r := range []string{region, "US", "GB"} {
			again, err := Normalize(got, r)
			if err != nil || again != got {
				t.Fatalf("Normalize(%q, %q) = %q; normalising that again (region %q) gives %q, %v",
					raw, region, got, r, again, err)
			}
		}
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8 %q", got)
		}
	})
}

// isE164 reports whether s is "+" followed by 1 to 15 digits, the first not 0 (ITU-T E.164).
func isE164(s string) bool {
	if len(s) < 2 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// TestNormalizeValid: a site's own numbers must be valid, not merely possible; the numbers the
// repository's configs use (212-555-01xx, Ofcom's 020 7946 0xxx) are valid, missing area codes are not.
func TestNormalizeValid(t *testing.T) {
	for _, c := range []struct{ raw, region, want string }{
		{"+1 212 555 0100", "US", "+12125550100"},
		{"(212) 555-0199", "US", "+12125550199"},
		{"020 7946 0958", "GB", "+442079460958"},
		{"030 1234567", "DE", "+49301234567"},
	} {
		got, err := NormalizeValid(c.raw, c.region)
		if err != nil || got != c.want {
			t.Errorf("NormalizeValid(%q, %s) = %q, %v; want %q", c.raw, c.region, got, err, c.want)
		}
	}
	for _, c := range []struct{ raw, region string }{
		{"555-0100", "US"},        // possible (seven digits) but no area code
		{"+1 212 000 0000", "US"}, // exchange 000 is never assigned
		{"+44 1632 960001", "GB"}, // possible length, unassigned range
	} {
		if _, err := Normalize(c.raw, c.region); err != nil {
			t.Errorf("Normalize(%q): %v; the case wants a possible number", c.raw, err)
		}
		got, err := NormalizeValid(c.raw, c.region)
		if err == nil || !strings.Contains(err.Error(), "not a valid number") {
			t.Errorf("NormalizeValid(%q, %s) = %q, %v; want an invalid-number error", c.raw, c.region, got, err)
		}
	}
}
