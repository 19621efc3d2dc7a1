package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const examplePath = "../../testdata/ringside.example.yaml"

// TestExampleLoads: the example config shipped in testdata/ (and documented in the README) loads,
// with its numbers normalised to E.164 and the named defaults applied to what it leaves out.
func TestExampleLoads(t *testing.T) {
	c, err := Load(examplePath)
	if err != nil {
		t.Fatalf("the example config does not load:\n%v", err)
	}
	if c.Site.Location == nil || c.Site.Location.String() != c.Site.TimeZone || c.Site.TimeZone == "" {
		t.Fatalf("time zone %q not loaded (%v)", c.Site.TimeZone, c.Site.Location)
	}
	if len(c.TrackingNumbers) == 0 {
		t.Fatal("no tracking numbers")
	}
	for i, n := range c.TrackingNumbers {
		if !isE164(n.Number) {
			t.Errorf("tracking_numbers[%d] = %q, not normalised to E.164", i, n.Number)
		}
	}
	for i, l := range c.Lines {
		if l.TrackingNumber != "" && !isE164(l.TrackingNumber) {
			t.Errorf("lines[%d].tracking_number = %q, not normalised", i, l.TrackingNumber)
		}
		if l.MaxCalls <= 0 {
			t.Errorf("lines[%d].max_calls = %d after defaults", i, l.MaxCalls)
		}
	}
	wantState, _ := filepath.Abs(filepath.Join(filepath.Dir(examplePath), "state"))
	if c.StateDir != wantState {
		t.Errorf("state_dir = %q, want %q (relative to the config's folder)", c.StateDir, wantState)
	}
	for i, q := range c.Queues {
		if q.RingTimeout.D() <= 0 || q.MaxWait.D() <= 0 || q.Strategy == "" {
			t.Errorf("queues[%d] lacks defaults: %+v", i, q)
		}
		if q.Hours != "" && len(c.Hours[q.Hours].Spans) == 0 {
			t.Errorf("queues[%d].hours %q has no open spans", i, q.Hours)
		}
	}
	// Keys the example leaves out take the named defaults.
	if c.SIP.BusyCode != DefaultBusyCode || c.Uplink.TopicPrefix != DefaultTopicPrefix || c.Web.AdminUser != DefaultAdminUser {
		t.Errorf("defaults not applied: busy_code %d topic_prefix %q admin_user %q", c.SIP.BusyCode, c.Uplink.TopicPrefix, c.Web.AdminUser)
	}
	if c.Metrics.LeadRule.Enabled == nil || !*c.Metrics.LeadRule.Enabled {
		t.Error("lead rule not enabled by default")
	}
}

func isE164(s string) bool {
	if len(s) < 2 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for _, r := range s[1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// TestBrokenConfigNamesEveryProblem: testdata/broken.yaml has one mistake on each marked line; Load
// reports each of them, and nothing else, with its key path and its line.
func TestBrokenConfigNamesEveryProblem(t *testing.T) {
	want := []struct {
		line int
		key  string
		msg  string // a part of the message
	}{
		{4, "site.time_zone", "unknown time zone"},
		{6, "site.colour", `unknown key "colour"`},
		{8, "sip.max_calls", "cannot unmarshal"},
		{9, "sip.media_timeout", `want a duration such as 20s or 5m, got "30 seconds"`},
		{17, "lines[0].max_calls", "is negative"},
		{22, "tracking_numbers[0].monthly_fee", `got "3.005"`},
		{25, "tracking_numbers[1].queue", `no queue named "back-office"`},
		{26, "tracking_numbers[2].number", `"12"`},
		{30, "queues[0].strategy", `"ring_some"`},
		{33, "queues[0].members[1].agent", `no agent with id "carol"`},
		{34, "queues[0].members[1].weight", "cannot unmarshal"},
		{39, "queues[0].overflow.after", `unknown key "after"`},
		{44, "agents[1].id", `"alice" is used twice`},
		{50, "business_hours.office.week.mon", "ends before it starts"},
		{51, "business_hours.office.week.tue", `"25:00"`},
		{52, "business_hours.office.week.fun", `unknown day "fun"`},
		{53, "business_hours.office.holidays[0]", `"2026-13-01"`},
		{55, "metrics.service_level_target", "percentage"},
		{56, "metrics.short_abandon", `got "5"`},
		{57, "metrics.cache_mb", "is negative"},
		{59, "web.listen", `got "nowhere"`},
	}
	const path = "testdata/broken.yaml"
	c, err := Load(path)
	if err == nil {
		t.Fatalf("broken config loaded: %+v", c)
	}
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error is %T, want Problems: %v", err, err)
	}
	// Every marked line of the fixture is expected, so the fixture and the table cannot drift apart.
	data, _ := os.ReadFile(path)
	marked := 0
	for i, l := range strings.Split(string(data), "\n") {
		if i > 0 && strings.Contains(l, "#") {
			marked++
		}
	}
	if marked != len(want) {
		t.Fatalf("fixture marks %d lines, the test expects %d", marked, len(want))
	}
	for i, p := range ps {
		t.Logf("%s", p)
		if i >= len(want) {
			continue
		}
		w := want[i]
		if p.Line != w.line || p.Key != w.key || !strings.Contains(p.Msg, w.msg) || p.File != path {
			t.Errorf("problem %d = %s:%d %s %q; want line %d, key %s, message containing %q",
				i, p.File, p.Line, p.Key, p.Msg, w.line, w.key, w.msg)
		}
	}
	if len(ps) != len(want) {
		t.Fatalf("%d problems, want %d", len(ps), len(want))
	}
	// The text an operator sees (check-config prints err) names file, line and key on each line.
	for i, l := range strings.Split(err.Error(), "\n") {
		if want := fmt.Sprintf("%s:%d: %s: ", path, want[i].line, want[i].key); !strings.HasPrefix(l, want) {
			t.Errorf("line %d of the message %q does not start with %q", i, l, want)
		}
	}
}

// TestProblemsSingleMistakes: each mistake alone, put into the valid example, gives one problem at
// the line of the changed key.
func TestProblemsSingleMistakes(t *testing.T) {
	base, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, from, to, key, msg string
		n                        int // problems expected when the mistake has consequences; 0 means 1
	}{
		{"unknown key", "  currency: USD", "  currency: USD\n  curency: EUR", "site.curency", "unknown key", 0},
		{"bad duration", "    ring_timeout: 20s", "    ring_timeout: twenty", "queues[0].ring_timeout", "duration", 0},
		{"negative duration", "    wrap_up: 5s", "    wrap_up: -5s", "queues[0].wrap_up", "negative", 0},
		{"bad number", "  max_calls: 20", "  max_calls: 2O", "sip.max_calls", "cannot unmarshal", 0},
		{"negative connection cap", "  tcp_max_conns_per_addr: 32", "  tcp_max_conns_per_addr: -1", "sip.tcp_max_conns_per_addr", "is negative", 0},
		{"negative trusted budget", "  trusted_rate_limit: 500   # trunks and registered phones: slowed over it, never banned", "  trusted_rate_limit: -5", "sip.trusted_rate_limit", "is negative", 0},
		{"bad money", `    monthly: "1200.00"`, `    monthly: "12,00"`, "marketing_costs[0].monthly", "amount", 0},
		{"unknown queue", "    hours: office", "    hours: weekend", "queues[0].hours", `no business_hours named "weekend"`, 0},
		{"unknown pool", "    pool: website", "    pool: landing", "tracking_numbers[3].pool", `no pool named "landing"`, 0},
		{"duplicate agent username", "    username: bob", "    username: alice", "agents[1].username", "used twice", 0},
		{"number without area code", `  - number: "212-555-0102"`, `  - number: "555-0102"`, "tracking_numbers[2].number", "not a valid number", 0},
		{"line number without area code", `    tracking_number: "+1 212 555 0100"`, `    tracking_number: "555-0100"`, "lines[0].tracking_number", "not a valid number", 0},
		{"duplicate number", `  - number: "212-555-0102"`, `  - number: "212 555 0101"`, "tracking_numbers[2].number", "used twice", 0},
		{"bad time zone", "  time_zone: America/New_York", "  time_zone: Eastern", "site.time_zone", "unknown time zone", 0},
		// Every number written without +1 then fails too: 1 + 3 problems, the region's first.
		{"bad region", "  region: US", "  region: XX", "site.region", "unknown region", 4},
		{"bad hours span", `      fri: "08:00-16:00"`, `      fri: "16:00-08:00"`, "business_hours.office.week.fri", "ends before it starts", 0},
		{"bad hours format", `      fri: "08:00-16:00"`, `      fri: "8am-4pm"`, "business_hours.office.week.fri", "HH:MM", 0},
		{"overflow uri", `      uri: "sip:voicemail@127.0.0.1"`, `      uri: "voicemail"`, "queues[0].overflow.uri", "sip:", 0},
		{"line number not tracked", `    tracking_number: "+1 212 555 0100"`, `    tracking_number: "+1 212 555 0199"`, "lines[0].tracking_number", "not in tracking_numbers", 0},
		{"trunk without addresses", `    addresses: ["127.0.0.1/32"]`, `    addresses: []`, "lines[1].addresses", "addresses", 0},
		{"bad trunk address", `    addresses: ["127.0.0.1/32"]`, `    addresses: ["localhost"]`, "lines[1].addresses[0]", "IP address", 0},
		{"bad public url", "  listen: 127.0.0.1:8080", "  listen: 127.0.0.1:8080\n  public_url: ringside.local:8080", "web.public_url", "absolute http", 0},
		{"duplicate yaml key", "  region: US", "  region: US\n  region: GB", "site.region", "already defined", 0},
		{"short line password", "    password: change-me-ata", "    password: 1", "lines[0].password", "at least 12", 0},
		{"short agent password", "    password: change-me-bob", "    password: bob-1234", "agents[1].password", "at least 12", 0},
		{"password and password_file", "    password: change-me-alice", "    password: change-me-alice\n    password_file: alice.secret", "agents[0].password_file", "not both", 0},
		{"second document", "  long_press: 2s", "  long_press: 2s\n---\nsite: {name: Other}", "", "second YAML document", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := string(base)
			if strings.Count(src, c.from+"\n") != 1 {
				t.Fatalf("fixture line %q not found exactly once in the example", c.from)
			}
			// The line the problem must be on: the changed key's line (the last line of the change).
			wantLine := strings.Count(src[:strings.Index(src, c.from+"\n")], "\n") + strings.Count(c.to, "\n") + 1
			src = strings.Replace(src, c.from+"\n", c.to+"\n", 1)
			_, err := Parse([]byte(src), "ringside.yaml", t.TempDir())
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("err = %v, want Problems", err)
			}
			n := max(c.n, 1)
			if len(ps) != n {
				t.Fatalf("%d problems, want %d:\n%v", len(ps), n, err)
			}
			p := ps[0]
			if p.Line != wantLine || !strings.HasPrefix(p.Key, c.key) || !strings.Contains(p.Msg, c.msg) {
				t.Fatalf("got %s; want line %d key %s message containing %q", p, wantLine, c.key, c.msg)
			}
		})
	}
}

// TestPinUsedTwice: two LEDs on one pin is one problem, at the line of one of the two keys.
// Which of the two is named depends on map order in validate (not deterministic today).
func TestPinUsedTwice(t *testing.T) {
	base, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(base), "  calls: {pin: GPIO27}\n", "  calls: {pin: GPIO17}\n", 1)
	_, err = Parse([]byte(src), "ringside.yaml", t.TempDir())
	var ps Problems
	if !errors.As(err, &ps) || len(ps) != 1 {
		t.Fatalf("err = %v, want one problem", err)
	}
	lineOf := func(prefix string) int {
		return strings.Count(src[:strings.Index(src, prefix)], "\n") + 1
	}
	p := ps[0]
	ok := (p.Key == "leds.ready.pin" && p.Line == lineOf("  ready: {pin: GPIO17}")) ||
		(p.Key == "leds.calls.pin" && p.Line == lineOf("  calls: {pin: GPIO17}"))
	if !ok || !strings.Contains(p.Msg, "used twice") {
		t.Fatalf("got %s; want leds.ready.pin or leds.calls.pin at its own line", p)
	}
}

// TestSyntaxErrors: a YAML syntax error, in the first document or in a stray second one, is one
// problem with its line. yaml.v3 reports parser errors at its context mark, counted from 0
// (go-yaml/yaml#542), so the line may be the one before the mistake; scanner errors are exact.
func TestSyntaxErrors(t *testing.T) {
	cases := []struct {
		src  string
		line int // the line of the mistake
		msg  string
	}{
		{"site:\n  name: x\n  region: [US\n", 3, "did not find expected"},
		{"site:\n  name: x\n---\nsite: [unclosed\n", 4, "did not find expected"},
		{"site:\n  name: x\n   region: US\n", 3, "mapping values are not allowed"},
		{"site:\n  name: \"x\n", 2, "unexpected end of stream"},
	}
	for _, c := range cases {
		_, err := Parse([]byte(c.src), "f.yaml", t.TempDir())
		var ps Problems
		if !errors.As(err, &ps) {
			t.Fatalf("%q: err = %v", c.src, err)
		}
		found := false
		for _, p := range ps {
			found = found || (strings.Contains(p.Msg, c.msg) && (p.Line == c.line || p.Line == c.line-1))
		}
		if !found {
			t.Errorf("%q: no problem %q at line %d:\n%v", c.src, c.msg, c.line, err)
		}
	}
}

// TestHostileYAML: inputs built to exhaust memory, stack or time produce an error, promptly, with
// no panic. The deadline is a hang detector, not a speed requirement.
func TestHostileYAML(t *testing.T) {
	var laughs strings.Builder
	laughs.WriteString("site: {name: x}\n")
	laughs.WriteString(`a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]` + "\n")
	prev := "a"
	for _, c := range "bcdefghi" {
		fmt.Fprintf(&laughs, "%c: &%c [%s]\n", c, c, strings.TrimSuffix(strings.Repeat("*"+prev+",", 9), ","))
		prev = string(c)
	}
	// The same bomb aimed at fields the decoder does fill.
	laughsIn := laughs.String() + "sip:\n  listen: *i\nlines:\n  - addresses: *i\n" +
		"business_hours:\n  x: {holidays: *i}\n"
	var manyAliases strings.Builder
	manyAliases.WriteString("site: {name: x}\nagents:\n  - &a {id: a, username: a, password: a}\n")
	for range 10000 {
		manyAliases.WriteString("  - *a\n")
	}
	cases := map[string]string{
		"billion laughs":           laughs.String(),
		"billion laughs in fields": laughsIn,
		"many aliases":             manyAliases.String(),
		"deep flow sequence":       "site: " + strings.Repeat("[", 100000) + strings.Repeat("]", 100000),
		"deep flow mapping":        "site: " + strings.Repeat("{a: ", 50000) + "1" + strings.Repeat("}", 50000),
		"deep block mapping":       deepBlock(3000),
		"alias loop":               "site: &s {name: x, self: *s}\n",
		"undefined alias":          "site: *nothing\n",
		"control characters":       "site:\x00 name: x\n",
		"invalid utf-8":            "site:\n  name: \xff\xfe\n",
		"tabs":                     "site:\n\tname: x\n",
		"root is a list":           "- a\n- b\n",
		"root is a scalar":         "hello",
		"empty":                    "",
		"huge key":                 "site: {name: x}\n" + strings.Repeat("k", 200000) + ": 1\n",
		"huge number":              "site: {name: x}\nsip: {max_calls: " + strings.Repeat("9", 5000) + "}\n",
		"merge bomb":               "site: {name: x}\nbase: &b {a: 1}\nweb: {<<: [*b, *b, *b], listen: 'x:1'}\n",
	}
	for name, src := range cases {
		t.Run(name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				_, err := Parse([]byte(src), "hostile.yaml", t.TempDir())
				done <- err
			}()
			select {
			case err := <-done:
				var ps Problems
				if !errors.As(err, &ps) || len(ps) == 0 {
					t.Fatalf("err = %v (%T), want Problems", err, err)
				}
				// At most a few problems per input line: aliases must not multiply the report.
				if lines := strings.Count(src, "\n") + 1; len(ps) > 4*lines {
					t.Fatalf("%d problems for %d lines: the report itself is a bomb", len(ps), lines)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("Parse did not return in 30 s")
			}
		})
	}
}

func deepBlock(depth int) string {
	var b strings.Builder
	b.WriteString("site:\n")
	for i := 1; i <= depth; i++ {
		b.WriteString(strings.Repeat(" ", i) + "a:\n")
	}
	return b.String()
}

// TestHugeFileRefused: Load reads at most MaxFileSize bytes and says so, whatever the content.
func TestHugeFileRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.yaml")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	line := "# " + strings.Repeat("x", 1000) + "\n"
	for n := 0; n <= MaxFileSize; n += len(line) {
		f.WriteString(line)
	}
	f.Close()
	_, err = Load(path)
	var ps Problems
	if !errors.As(err, &ps) || len(ps) != 1 || !strings.Contains(ps[0].Msg, "larger than") {
		t.Fatalf("err = %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "absent.yaml")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("absent file: %v", err)
	}
}

// TestLargeValidConfig: a config far larger than any real site (a thousand lines and tracking
// numbers) is still checked in full; the validator must not be quadratic enough to hang on it.
func TestLargeValidConfig(t *testing.T) {
	var b strings.Builder
	b.WriteString("site: {name: Big, region: US}\nlines:\n")
	const n = 1000
	for i := range n {
		fmt.Fprintf(&b, "  - {id: l%d, kind: sip_trunk, addresses: [127.0.0.1], tracking_number: \"+1212555%04d\"}\n", i, i)
	}
	b.WriteString("tracking_numbers:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - {number: \"+1212555%04d\", source: s%d}\n", i, i%7)
	}
	if b.Len() > MaxFileSize {
		t.Fatalf("fixture is %d bytes, over the limit", b.Len())
	}
	done := make(chan error, 1)
	go func() {
		c, err := Parse([]byte(b.String()), "big.yaml", t.TempDir())
		if err == nil && (len(c.Lines) != n || len(c.TrackingNumbers) != n) {
			err = fmt.Errorf("%d lines, %d numbers", len(c.Lines), len(c.TrackingNumbers))
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(120 * time.Second): // a hang detector for slow -race runs, not a speed test
		t.Fatal("Parse did not return in 120 s")
	}
}

// TestPasswordFiles: a line's or agent's SIP password can come from a file, named relative to the
// config or inside systemd's credentials folder (LoadCredential=), and is held to the same minimum.
func TestPasswordFiles(t *testing.T) {
	base, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	dir, creds := t.TempDir(), t.TempDir()
	write := func(path, s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "ata.secret"), "ata-secret-in-a-file\r\n")
	write(filepath.Join(creds, "alice"), "alice-secret-from-systemd\n")
	write(filepath.Join(creds, "short"), "tiny\n")
	parse := func(ataFile, aliceFile string) (*Config, error) {
		src := strings.Replace(string(base), "    password: change-me-ata\n", "    password_file: "+ataFile+"\n", 1)
		src = strings.Replace(src, "    password: change-me-alice\n", "    password_file: "+aliceFile+"\n", 1)
		return Parse([]byte(src), "ringside.yaml", dir)
	}
	t.Setenv(credentialsVar, creds)
	c, err := parse("ata.secret", "${CREDENTIALS_DIRECTORY}/alice")
	if err != nil {
		t.Fatal(err)
	}
	if c.Lines[0].Password != "ata-secret-in-a-file" || c.Agents[0].Password != "alice-secret-from-systemd" {
		t.Errorf("passwords %q and %q, want the files' contents without the line end", c.Lines[0].Password, c.Agents[0].Password)
	}
	lineOf := func(s string) int { return strings.Count(string(base[:strings.Index(string(base), s)]), "\n") + 1 }
	ataLine, aliceLine := lineOf("    password: change-me-ata\n"), lineOf("    password: change-me-alice\n")
	for _, tc := range []struct {
		name, ata, alice, env, key, msg string
		line                            int
	}{
		{"short file", "ata.secret", "$CREDENTIALS_DIRECTORY/short", creds, "agents[0].password_file", "has 4 characters; want at least 12", aliceLine},
		{"no credentials folder", "ata.secret", "${CREDENTIALS_DIRECTORY}/alice", "", "agents[0].password_file", "CREDENTIALS_DIRECTORY} is not set", aliceLine},
		{"other variable", "${HOME}/ata", "${CREDENTIALS_DIRECTORY}/alice", creds, "lines[0].password_file", "only ${CREDENTIALS_DIRECTORY}", ataLine},
		{"missing file", "nowhere.secret", "${CREDENTIALS_DIRECTORY}/alice", creds, "lines[0].password_file", "cannot read nowhere.secret", ataLine},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(credentialsVar, tc.env)
			_, err := parse(tc.ata, tc.alice)
			var ps Problems
			if !errors.As(err, &ps) || len(ps) != 1 {
				t.Fatalf("err = %v, want one problem", err)
			}
			if p := ps[0]; p.Key != tc.key || p.Line != tc.line || !strings.Contains(p.Msg, tc.msg) {
				t.Errorf("got %s; want line %d key %s message containing %q", p, tc.line, tc.key, tc.msg)
			}
		})
	}
}
