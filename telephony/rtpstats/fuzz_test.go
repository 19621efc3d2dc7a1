package rtpstats

import (
	"testing"
	"time"
)

// FuzzObserve drives a Leg with arbitrary packet streams (each 4 input bytes: SSRC choice, sequence
// step, timestamp step, arrival step) and checks the invariants of a Snapshot.
func FuzzObserve(f *testing.F) {
	f.Add([]byte{0, 1, 1, 20, 0, 1, 1, 20, 0, 2, 2, 40})      // a loss
	f.Add([]byte{0, 1, 1, 20, 0, 0xff, 0xff, 1, 0, 2, 2, 20}) // reorder
	f.Add([]byte{0, 0x7f, 0x7f, 0xff, 1, 1, 1, 1, 0, 0x80, 0x80, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		l := New(Config{NoPLC: len(in)%2 == 0})
		seq, ts, at := uint16(65530), uint32(4294967000), t0
		for i := 0; i+4 <= len(in) && i < 4*10000; i += 4 {
			ssrc := uint32(in[i] & 1)
			seq += uint16(int8(in[i+1]))
			if in[i+1] == 0x7f {
				seq += 30000 // a large jump now and then
			}
			ts += uint32(int8(in[i+2])) * 80
			at = at.Add(time.Duration(in[i+3]) * time.Millisecond)
			l.Observe(ssrc, seq, ts, at)
		}
		s := l.Snapshot()
		if s.Packets > s.Expected {
			t.Fatalf("packets %d > expected %d", s.Packets, s.Expected)
		}
		if s.Lost != s.Expected-s.Packets {
			t.Fatalf("lost %d != %d - %d", s.Lost, s.Expected, s.Packets)
		}
		if s.LossPercent < 0 || s.LossPercent > 100 || (s.Packets > 0 && s.MOS < 1) || s.MOS > 4.5 || s.JitterUnits < 0 {
			t.Fatalf("out of range: %+v", s)
		}
	})
}
