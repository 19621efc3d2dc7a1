package config

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// FuzzParse: whatever bytes are handed to Parse, it does not panic or hang; it either returns
// Problems (each with a message, and a line inside the file) or a config that passes validation
// again as it is, with its numbers in E.164 and its time zone loaded.
//
// The seed corpus is testdata/fuzz/FuzzParse (the example config, the broken one, hostile shapes).
func FuzzParse(f *testing.F) {
	for _, p := range []string{examplePath, "testdata/broken.yaml"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("site: {name: x}\n"))
	// baseDir is a folder that does not exist: relative file names then never find a real file.
	const base = "/nonexistent/ringside-fuzz"
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "fuzz.yaml", base)
		if err != nil {
			var ps Problems
			if !errors.As(err, &ps) || len(ps) == 0 {
				t.Fatalf("error %T %v is not Problems", err, err)
			}
			lines := yamlLines(data) + 1
			for _, p := range ps {
				if p.Msg == "" || p.File != "fuzz.yaml" || p.Line < 0 || p.Line > lines {
					t.Fatalf("bad problem %+v (file has %d lines)", p, lines)
				}
			}
			if c != nil {
				t.Fatal("a config returned with problems")
			}
			return
		}
		if c == nil {
			t.Fatal("nil config without error")
		}
		if c.Site.Location == nil || c.Site.Name == "" {
			t.Fatalf("accepted config lacks its zone or name: %+v", c.Site)
		}
		for i, n := range c.TrackingNumbers {
			if !isE164(n.Number) {
				t.Fatalf("tracking_numbers[%d] = %q, not E.164", i, n.Number)
			}
		}
		// The accepted config passes validation again unchanged: defaults and normalisation are
		// idempotent, so what Parse returns is what a second look would accept.
		v := validator{file: "again"}
		v.validate(c)
		if len(v.problems) > 0 {
			t.Fatalf("accepted config fails validation again:\n%v", v.problems)
		}
	})
}

// yamlLines counts lines as yaml.v3 (libyaml, YAML 1.1) does: CR LF, CR, LF, NEL, LS and PS each
// end a line.
func yamlLines(data []byte) int {
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	n := 1
	for _, br := range []string{"\n", "\r", "\u0085", "\u2028", "\u2029"} {
		n += strings.Count(s, br)
	}
	return n
}
