package fxosim

import (
	"context"
	"testing"
	"time"

	"github.com/ringside/ringside/telephony/callerid"
)

// TestRingUntilAnswer: the ringing follows the cadence and stops the moment the line goes off
// hook; audio toward the line is kept only while off hook.
func TestRingUntilAnswer(t *testing.T) {
	t.Parallel()
	us, err := RingCadence("US")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Unix(1_800_000_000, 0)
	l := New([]Step{{RingUntilAnswer: &us}, {Silence: time.Second}}, start, false)
	frame := make([]int16, FrameSamples)
	ctx := context.Background()
	type edge struct {
		on bool
		at time.Duration
	}
	var edges []edge
	was := false
	_ = l.WriteFrame(frame)
	for i := range 50 * 9 { // 9 s: ring 0-2 s, pause 2-6 s, ring from 6 s
		if err := l.ReadFrame(ctx, frame); err != nil {
			t.Fatal(err)
		}
		if on, since := l.Ringing(); on != was {
			edges = append(edges, edge{on, since.Sub(start)})
			was = on
		}
		if i == 50*7 { // answer 1 s into the second ring
			if err := l.SetHook(true); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := []edge{{true, 0}, {false, 2 * time.Second}, {true, 6 * time.Second}, {false, 7*time.Second + 20*time.Millisecond}}
	if len(edges) != len(want) {
		t.Fatalf("edges %v, want %v", edges, want)
	}
	for i := range want {
		if edges[i] != want[i] {
			t.Errorf("edge %d: %v, want %v", i, edges[i], want[i])
		}
	}
	if n := len(l.Received()); n != 0 {
		t.Errorf("kept %d samples written while on hook", n)
	}
	_ = l.WriteFrame(frame)
	if n := len(l.Received()); n != FrameSamples {
		t.Errorf("kept %d samples written off hook, want %d", n, FrameSamples)
	}
	select {
	case <-l.Done():
	default:
		t.Error("the script did not finish")
	}
}

func TestScriptErrors(t *testing.T) {
	t.Parallel()
	if _, err := Script(Call{}); err == nil {
		t.Error("a call without a cadence was accepted")
	}
	us, _ := RingCadence("US")
	if _, err := Script(Call{Cadence: us, Standard: callerid.Standard(99), Caller: callerid.Result{Number: "1"}}); err == nil {
		t.Error("an unknown standard was accepted")
	}
	if _, err := Script(Call{Cadence: us, Hangup: "XX"}); err == nil {
		t.Error("an unknown country's busy tone was accepted")
	}
	if _, err := RingCadence("XX"); err == nil {
		t.Error("RingCadence(XX) succeeded")
	}
}
