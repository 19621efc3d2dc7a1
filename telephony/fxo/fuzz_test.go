package fxo

import (
	"strings"
	"testing"
)

// FuzzCallerUser: whatever a caller-ID decoder lets through, the SIP user part built from it is
// safe: only digits, '+', '*' and '#', at most 32 characters, or "anonymous".
func FuzzCallerUser(f *testing.F) {
	for _, s := range []string{"2125550147", "+44 20 7946 0123", "", "P", "anonymous", "1\r\nVia: x", strings.Repeat("9", 64)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, number string) {
		u := callerUser(number)
		if u == "anonymous" {
			for _, r := range number {
				if (r >= '0' && r <= '9') || r == '+' || r == '*' || r == '#' {
					t.Fatalf("%q has dialable characters but became anonymous", number)
				}
			}
			return
		}
		if len(u) > 32 || strings.Trim(u, "0123456789+*#") != "" {
			t.Fatalf("callerUser(%q) = %q", number, u)
		}
		if n := quotedName(number); len(n) > 40 || strings.ContainsAny(n, "\"\\\r\n") {
			t.Fatalf("quotedName(%q) = %q", number, n)
		}
	})
}
