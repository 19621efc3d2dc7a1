package metrics

import (
	"slices"
	"time"
)

// WaitBounds are the upper bounds of the wait-time distribution's bars; the last bar is open.
var WaitBounds = []time.Duration{10 * time.Second, 20 * time.Second, 30 * time.Second, time.Minute,
	2 * time.Minute, 3 * time.Minute, 5 * time.Minute}

// WaitBars is the wait-time distribution of a report's finished calls: bar i counts the waits in
// [UpperMs[i-1], UpperMs[i]), the last bar those from the last bound on. It comes from the same
// facts as every other figure of its report, so its bars add up to Volume.
type WaitBars struct {
	UpperMs      []int64 `json:"upper_ms"`
	Connected    []int   `json:"connected"`
	NotConnected []int   `json:"not_connected"`
}

// waitBars counts ascending wait lists (milliseconds) into the WaitBounds bars.
func waitBars(connected, other [][]uint32) WaitBars {
	b := WaitBars{Connected: make([]int, len(WaitBounds)+1), NotConnected: make([]int, len(WaitBounds)+1)}
	for _, w := range WaitBounds {
		b.UpperMs = append(b.UpperMs, w.Milliseconds())
	}
	count := func(bars []int, lists [][]uint32) {
		for _, l := range lists {
			below := 0 // values under the previous bound
			for i, u := range b.UpperMs {
				n, _ := slices.BinarySearch(l, uint32(u)) // values < u
				bars[i] += n - below
				below = n
			}
			bars[len(bars)-1] += len(l) - below
		}
	}
	count(b.Connected, connected)
	count(b.NotConnected, other)
	return b
}
