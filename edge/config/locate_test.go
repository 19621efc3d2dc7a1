package config

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// TestLocate: a part's refusal of a key lands on the key's line, or on its nearest parent's when
// the key is absent from the file (a default); the key is not repeated in the message.
func TestLocate(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(data, "ringside.yaml", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	lineOf := func(prefix string) int {
		for i, l := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(l, prefix) {
				return i + 1
			}
		}
		t.Fatalf("no line starts with %q", prefix)
		return 0
	}
	ps := c.Locate([]error{
		&KeyError{Key: "web.listen", Err: errors.New("web.listen: address 1: invalid port")},
		&KeyError{Key: "queues[0].hold_music", Err: errors.New("not RIFF/WAVE")}, // absent: the queue's line
		errors.New("no key"),
	})
	want := []Problem{
		{File: "ringside.yaml", Msg: "no key"},
		{File: "ringside.yaml", Line: lineOf("  - name: front-desk"), Key: "queues[0].hold_music", Msg: "not RIFF/WAVE"},
		{File: "ringside.yaml", Line: lineOf("  listen: 127.0.0.1:8080"), Key: "web.listen", Msg: "address 1: invalid port"},
	}
	if len(ps) != len(want) {
		t.Fatalf("got %v, want %v", ps, want)
	}
	for i := range want {
		if ps[i] != want[i] {
			t.Errorf("problem %d = %+v, want %+v", i, ps[i], want[i])
		}
	}
}
