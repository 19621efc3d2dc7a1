package metrics

import (
	"slices"
	"testing"
)

// TestWaitBars: a wait falls in the bar whose bounds hold it (lower bound in, upper bound out),
// across several days' lists.
func TestWaitBars(t *testing.T) {
	b := waitBars([][]uint32{{0, 9999, 10000}, {19999, 20000, 400000}}, [][]uint32{{299999, 300000, 1 << 31}})
	if !slices.Equal(b.UpperMs, []int64{10000, 20000, 30000, 60000, 120000, 180000, 300000}) {
		t.Fatalf("bounds %v", b.UpperMs)
	}
	if want := []int{2, 2, 1, 0, 0, 0, 0, 1}; !slices.Equal(b.Connected, want) {
		t.Errorf("connected %v, want %v", b.Connected, want)
	}
	if want := []int{0, 0, 0, 0, 0, 0, 1, 2}; !slices.Equal(b.NotConnected, want) {
		t.Errorf("not connected %v, want %v", b.NotConnected, want)
	}
}
