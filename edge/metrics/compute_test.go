package metrics

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestBillingUnits checks the division-free ceiling against integer arithmetic.
func TestBillingUnits(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, inc := range []uint32{1, 6000, 30000, 60000, 7, 1 << 31} {
		k := &knobs{incMs: inc, invInc: 1 / float64(inc)}
		for i := 0; i < 20000; i++ {
			ms := rng.Uint32()
			switch i % 4 {
			case 0:
				ms = uint32(rng.IntN(10)) * inc // exact multiples
			case 1:
				ms = uint32(rng.IntN(100))*inc + 1
			}
			want := (int64(ms) + int64(inc) - 1) / int64(inc)
			if got := k.billingUnits(ms); got != want {
				t.Fatalf("inc %d ms %d: %d units, want %d", inc, ms, got, want)
			}
		}
	}
}

// TestStatsAcrossLists checks the order statistics over several sorted lists against a sort of
// their union.
func TestStatsAcrossLists(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for round := 0; round < 300; round++ {
		var lists [][]uint32
		var all []uint32
		var sum uint64
		for range rng.IntN(6) + 1 {
			l := make([]uint32, rng.IntN(40)+1)
			for i := range l {
				l[i] = uint32(rng.IntN(1 + rng.IntN(5000)))
				if round%7 == 0 {
					l[i] = rng.Uint32() // the whole range
				}
				sum += uint64(l[i])
			}
			sortValues(l, new([]uint32))
			lists = append(lists, l)
			all = append(all, l...)
		}
		slices.Sort(all)
		n := len(all)
		got := stats(lists, sum)
		ms := func(v float64) time.Duration { return time.Duration(v * 1e6) }
		median := ms(float64(all[(n-1)/2]))
		if n%2 == 0 {
			median = ms((float64(all[n/2-1]) + float64(all[n/2])) / 2)
		}
		p90 := ms(float64(all[int((9*n+9)/10)-1]))
		if got.N != n || got.Median != median || got.P90 != p90 || got.Max != ms(float64(all[n-1])) {
			t.Fatalf("round %d: got %+v, want n %d median %v p90 %v max %v", round, got, n, median, p90, ms(float64(all[n-1])))
		}
	}
	big := make([]uint32, 5000)
	for i := range big {
		big[i] = rng.Uint32()
	}
	want := slices.Clone(big)
	slices.Sort(want)
	radixSort(big, make([]uint32, len(big)))
	if !slices.Equal(big, want) {
		t.Fatal("radixSort disagrees with slices.Sort")
	}
}
