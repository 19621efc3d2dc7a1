package rtpstats

import (
	"math"
	"syscall"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// feed sends packets with the given sequence numbers, 20 ms apart in both timestamp and arrival.
func feed(l *Leg, ssrc uint32, seqs ...int) {
	for i, s := range seqs {
		l.Observe(ssrc, uint16(s), uint32(s)*160, t0.Add(time.Duration(i)*20*time.Millisecond))
	}
}

func seqRange(from, n int, skip ...int) []int {
	out := []int{}
	for i := 0; i < n; i++ {
		s := (from + i) % 65536
		keep := true
		for _, k := range skip {
			if k == s {
				keep = false
			}
		}
		if keep {
			out = append(out, s)
		}
	}
	return out
}

func TestLossDupReorder(t *testing.T) {
	cases := []struct {
		name                                    string
		seqs                                    []int
		packets, expected, lost, dups, reorders uint64
	}{
		{"clean", seqRange(0, 100), 100, 100, 0, 0, 0},
		{"loss", seqRange(0, 100, 10, 11, 50), 97, 100, 3, 0, 0},
		{"dup of newest", []int{0, 1, 2, 2, 3, 3, 3}, 4, 4, 0, 3, 0},
		{"dup of older", []int{0, 1, 2, 3, 1, 0, 4}, 5, 5, 0, 2, 0},
		{"reorder", []int{0, 1, 3, 2, 4, 6, 5, 7}, 8, 8, 0, 0, 2},
		{"reorder then dup", []int{0, 2, 1, 1, 3}, 4, 4, 0, 1, 1},
		{"late loss then filled", []int{10, 11, 14, 15, 12}, 5, 6, 1, 0, 1},
		{"wrap", seqRange(65530, 12, 65535, 0), 10, 12, 2, 0, 0},
		{"wrap with late packet from the old cycle", []int{65533, 65534, 1, 2, 65535, 0}, 6, 6, 0, 0, 2},
		{"wrap with duplicate across it", []int{65534, 65535, 0, 1, 65535}, 4, 4, 0, 1, 0},
		{"packet before the first one", []int{5, 6, 7, 4}, 3, 3, 0, 0, 0},
		{"many wraps", seqRange(100, 3*65536+7), 3*65536 + 7, 3*65536 + 7, 0, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := New(Config{})
			feed(l, 1, c.seqs...)
			s := l.Snapshot()
			if s.Packets != c.packets || s.Expected != c.expected || s.Lost != c.lost || s.Duplicates != c.dups || s.Reordered != c.reorders {
				t.Fatalf("got packets %d expected %d lost %d dups %d reordered %d; want %d %d %d %d %d",
					s.Packets, s.Expected, s.Lost, s.Duplicates, s.Reordered, c.packets, c.expected, c.lost, c.dups, c.reorders)
			}
			if c.expected > 0 {
				want := 100 * float64(c.lost) / float64(c.expected)
				if math.Abs(s.LossPercent-want) > 1e-9 {
					t.Fatalf("loss %% %v, want %v", s.LossPercent, want)
				}
			}
		})
	}
}

func TestSSRCChangeAddsUp(t *testing.T) {
	l := New(Config{})
	feed(l, 1, seqRange(0, 50, 7)...)         // 49 of 50
	feed(l, 2, seqRange(40000, 30, 40010)...) // 29 of 30
	s := l.Snapshot()
	if s.Expected != 80 || s.Packets != 78 || s.Lost != 2 || s.Restarts != 1 || s.SSRC != 2 {
		t.Fatalf("got %+v", s)
	}
}

func TestLargeJumpResync(t *testing.T) {
	// RFC 3550 A.1: a lone packet far ahead is discarded; two in a row restart the sequence.
	l := New(Config{})
	feed(l, 1, 0, 1, 2, 3, 4)
	feed(l, 1, 30000) // stray: discarded
	feed(l, 1, 5, 6)
	feed(l, 1, 20000, 20001, 20002)
	s := l.Snapshot()
	if s.Discarded != 2 || s.Restarts != 1 {
		t.Fatalf("discarded %d restarts %d, want 2 and 1", s.Discarded, s.Restarts)
	}
	// First run 0..6 (7 packets), second from 20001: 2 packets.
	if s.Expected != 9 || s.Packets != 9 || s.Lost != 0 {
		t.Fatalf("got %+v", s)
	}
}

// TestJitterHandComputed checks RFC 3550 6.4.1 against a worked example:
// ts 0,160,320,480 arriving at 0,20,45,60 ms (8 kHz): transits 0,0,40,0 units, so
// J = 0, then 0 + (40-0)/16 = 2.5, then 2.5 + (40-2.5)/16 = 4.84375 units = 0.60546875 ms.
func TestJitterHandComputed(t *testing.T) {
	l := New(Config{})
	arr := []time.Duration{0, 20 * time.Millisecond, 45 * time.Millisecond, 60 * time.Millisecond}
	for i, a := range arr {
		l.Observe(9, uint16(100+i), uint32(1000+160*i), t0.Add(a))
	}
	s := l.Snapshot()
	if math.Abs(s.JitterUnits-4.84375) > 1e-6 {
		t.Fatalf("jitter %v units, want 4.84375", s.JitterUnits)
	}
	if d := s.Jitter - 605468*time.Nanosecond; d < -time.Microsecond || d > time.Microsecond {
		t.Fatalf("jitter %v, want 0.605 ms", s.Jitter)
	}
}

func TestJitterTimestampWrapAndDiscontinuity(t *testing.T) {
	l := New(Config{})
	ts := uint32(math.MaxUint32 - 3*160 + 1)
	for i := 0; i < 10; i++ {
		l.Observe(1, uint16(i), ts, t0.Add(time.Duration(i)*20*time.Millisecond))
		ts += 160
	}
	if j := l.Snapshot().JitterUnits; j > 1e-6 {
		t.Fatalf("steady stream across a timestamp wrap gave jitter %v", j)
	}
	// A frozen RTP clock during a 30 s hold is a discontinuity, not jitter.
	at := t0.Add(30 * time.Second)
	for i := 10; i < 20; i++ {
		l.Observe(1, uint16(i), ts, at)
		ts += 160
		at = at.Add(20 * time.Millisecond)
	}
	if j := l.Snapshot().JitterUnits; j > 1e-6 {
		t.Fatalf("hold discontinuity fed the jitter: %v", j)
	}
}

func TestMOSCleanCall(t *testing.T) {
	l := New(Config{})
	feed(l, 1, seqRange(0, 500)...)
	s := l.Snapshot()
	if s.MOS < 4.3 || s.MOS > 4.45 {
		t.Fatalf("clean call MOS %v (R %v, delay %v), want about 4.4", s.MOS, s.R, s.Delay)
	}
}

// TestRDefault checks the G.107 figure quoted for all-default parameters: R = 93.2 (clause 7.7,
// "the default values ... result in R = 93.2").
func TestRDefault(t *testing.T) {
	if r := RFactor(0, 0, BplG711PLC); math.Abs(r-93.2) > 0.1 {
		t.Fatalf("R at defaults %v, want 93.2", r)
	}
	// G.107 annex B: MOS 4.41 at R = 93.2.
	if m := MOS(93.2); math.Abs(m-4.41) > 0.01 {
		t.Fatalf("MOS(93.2) = %v", m)
	}
}

// TestIeEffTable compares Ie,eff (G.107 formula 7-29, Ie = 0, BurstR = 1) with values worked by hand:
// 95 Ppl / (Ppl + Bpl).
func TestIeEffTable(t *testing.T) {
	rows := []struct{ ppl, bpl, want float64 }{
		{1, BplG711PLC, 3.640},    // 95/26.1
		{2, BplG711PLC, 7.011},    // 190/27.1
		{5, BplG711PLC, 15.781},   // 475/30.1
		{1, BplG711NoPLC, 17.925}, // 95/5.3
		{5, BplG711NoPLC, 51.075}, // 475/9.3
	}
	r0 := RFactor(0, 0, BplG711PLC)
	for _, row := range rows {
		got := r0 - RFactor(row.ppl, 0, row.bpl)
		if math.Abs(got-row.want) > 0.01 {
			t.Errorf("Ppl %v Bpl %v: Ie,eff %v, want %v", row.ppl, row.bpl, got, row.want)
		}
	}
}

func TestMOSMonotonic(t *testing.T) {
	for _, bpl := range []float64{BplG711PLC, BplG711NoPLC} {
		prev := 5.0
		for p := 0.0; p <= 30; p += 0.5 {
			m := MOS(RFactor(p, 60*time.Millisecond, bpl))
			if m > prev+1e-12 {
				t.Fatalf("Bpl %v: MOS rose from %v to %v at %v%% loss", bpl, prev, m, p)
			}
			prev = m
		}
	}
	prev := 5.0
	for d := time.Duration(0); d <= 600*time.Millisecond; d += 10 * time.Millisecond {
		m := MOS(RFactor(0, d, BplG711PLC))
		if m > prev+1e-12 {
			t.Fatalf("MOS rose from %v to %v at delay %v", prev, m, d)
		}
		prev = m
	}
	// A call losing 5% of its packets scores below a clean one on a real leg too.
	clean, lossy := New(Config{}), New(Config{})
	feed(clean, 1, seqRange(0, 1000)...)
	var skip []int
	for i := 0; i < 1000; i += 20 {
		skip = append(skip, i+3)
	}
	feed(lossy, 1, seqRange(0, 1000, skip...)...)
	sc, sl := clean.Snapshot(), lossy.Snapshot()
	if math.Abs(sl.LossPercent-5) > 0.01 || !(sl.MOS < sc.MOS) {
		t.Fatalf("lossy %v%% MOS %v vs clean MOS %v", sl.LossPercent, sl.MOS, sc.MOS)
	}
}

func TestObserveDoesNotAllocate(t *testing.T) {
	l := New(Config{})
	var i int
	allocs := testing.AllocsPerRun(1000, func() {
		l.Observe(1, uint16(i), uint32(i*160), t0.Add(time.Duration(i)*20*time.Millisecond))
		i++
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per packet", allocs)
	}
}

// BenchmarkObserve reports wall ns/op and, because the machine may be shared, the process CPU per
// packet (ns-cpu/op) from getrusage.
func BenchmarkObserve(b *testing.B) {
	l := New(Config{})
	b.ReportAllocs()
	at := t0
	cpu0 := cpuTime()
	for i := 0; b.Loop(); i++ {
		seq := uint16(i)
		if i%50 == 7 {
			seq-- // a duplicate now and then
		}
		l.Observe(1, seq, uint32(i*160), at)
		at = at.Add(20 * time.Millisecond)
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "ns-cpu/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestNoPacketsNoMOS(t *testing.T) {
	s := New(Config{}).Snapshot()
	if s.MOS != 0 || s.R != 0 || s.Expected != 0 || s.LossPercent != 0 {
		t.Fatalf("empty leg: %+v", s)
	}
}

func TestConfiguredDelay(t *testing.T) {
	near, far := New(Config{OneWayDelay: 50 * time.Millisecond}), New(Config{OneWayDelay: 400 * time.Millisecond})
	feed(near, 1, seqRange(0, 100)...)
	feed(far, 1, seqRange(0, 100)...)
	sn, sf := near.Snapshot(), far.Snapshot()
	if sn.Delay != 50*time.Millisecond || sf.Delay != 400*time.Millisecond || !(sf.MOS < sn.MOS) {
		t.Fatalf("near %v MOS %v, far %v MOS %v", sn.Delay, sn.MOS, sf.Delay, sf.MOS)
	}
}

// TestDelayAgainstColeRosenbluth compares the delay impairment with the published linear fit of the
// G.107 curve for default parameters (R. G. Cole, J. H. Rosenbluth, "Voice over IP performance
// monitoring", ACM SIGCOMM CCR 31(2), 2001): Id = 0.024 d + 0.11 (d - 177.3) H(d - 177.3).
func TestDelayAgainstColeRosenbluth(t *testing.T) {
	for d := 0.0; d <= 300; d += 25 {
		id := 0.024 * d
		if d > 177.3 {
			id += 0.11 * (d - 177.3)
		}
		got := RFactor(0, time.Duration(d*float64(time.Millisecond)), BplG711PLC)
		if math.Abs(got-(93.2-id)) > 1 {
			t.Errorf("Ta %v ms: R %.2f, fit %.2f", d, got, 93.2-id)
		}
	}
}

// TestUntimedPackets: telephone-events in the middle of the audio fill the sequence without
// touching the jitter, even though their timestamps stand still.
func TestUntimedPackets(t *testing.T) {
	l := New(Config{})
	for i := 0; i < 100; i++ {
		at := t0.Add(time.Duration(i) * 20 * time.Millisecond)
		if i >= 40 && i < 50 {
			l.ObserveUntimed(1, uint16(i))
			continue
		}
		l.Observe(1, uint16(i), uint32(i*160), at)
	}
	s := l.Snapshot()
	if s.Packets != 100 || s.Lost != 0 || s.JitterUnits > 1e-9 {
		t.Fatalf("%+v", s)
	}
}
