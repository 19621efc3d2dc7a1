package recorder

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// waitDrained spins until the writer goroutine has taken everything Write buffered.
func waitDrained(w *Writer) {
	for i := 0; i < 1e7; i++ {
		w.mu.Lock()
		n := len(w.in)
		w.mu.Unlock()
		if n == 0 {
			return
		}
		w.signal()
		time.Sleep(200 * time.Microsecond)
	}
}

// BenchmarkWriterPacket is the whole cost of one 20 ms packet through Write, the writer goroutine
// and the file (page cache), with allocations. One op = one packet.
func BenchmarkWriterPacket(b *testing.B) {
	clk := &fakeClock{now: epoch}
	w := startWriter(b, b.TempDir(), WriterConfig{BufferBytes: 4 << 20}, clk)
	payload := make([]byte, 160)
	for i := range payload {
		payload[i] = byte(i)
	}
	b.ReportAllocs()
	b.SetBytes(160)
	cpu0 := cpuTime()
	i := 0
	for b.Loop() {
		leg := Leg(i & 1)
		round := i / 2
		at := epoch.Add(time.Duration(round) * 20 * time.Millisecond)
		if leg == Caller {
			clk.Set(at)
		}
		w.Write(leg, uint32(round*160), uint16(round), at, payload)
		if i%10000 == 9999 {
			waitDrained(w)
		}
		i++
	}
	waitDrained(w)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	r, err := w.Close(context.Background(), time.Time{})
	if err != nil || r.Status != StatusComplete {
		b.Fatalf("%v %+v", err, r)
	}
	// Process CPU, not wall time (the feeder waits for the writer). 100 packets make one
	// call-second (two legs, 50 packets a second each).
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "ns-cpu/pkt")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N)*100, "us-cpu/call-s")
}

// BenchmarkCalls1000RealTime records 1,000 calls at once, fed in real time (20 ms packets on both
// legs) by ten feeder goroutines standing in for the relay, for RINGSIDE_BENCH_SECONDS (default 5)
// seconds. It reports the process CPU per call-second, the share of one core, calls cut, packets
// written too late to place, and the audio lost. Run it pinned to one core:
//
//	taskset -c 0 go test -run x -bench Calls1000 -benchtime 1x -cpu 1 ./recorder
func BenchmarkCalls1000RealTime(b *testing.B) {
	const calls = 1000
	secs := 5
	if s, err := strconv.Atoi(os.Getenv("RINGSIDE_BENCH_SECONDS")); err == nil && s > 0 {
		secs = s
	}
	for n := 0; n < b.N; n++ {
		root := b.TempDir()
		ws := make([]*Writer, calls)
		for i := range ws {
			w, err := Start(Layout{Root: root}, callID(i+1), epoch, WriterConfig{}, testLogger(b), realClock{})
			if err != nil {
				b.Fatal(err)
			}
			ws[i] = w
		}
		rounds := secs * 50
		cpu0, wall0 := cpuTime(), time.Now()
		var wg sync.WaitGroup
		for f := 0; f < 10; f++ {
			wg.Add(1)
			go func(mine []*Writer) {
				defer wg.Done()
				payload := make([]byte, 160)
				t := time.NewTicker(20 * time.Millisecond)
				defer t.Stop()
				for r := 0; r < rounds; r++ {
					<-t.C
					now := time.Now()
					for leg := Caller; leg <= Agent; leg++ {
						payload[0] = byte(r)
						for _, w := range mine {
							w.Write(leg, uint32(r*160), uint16(r), now, payload)
						}
					}
				}
			}(ws[f*calls/10 : (f+1)*calls/10])
		}
		wg.Wait()
		var cut, late uint64
		var frames int64
		for _, w := range ws {
			r, err := w.Close(context.Background(), time.Time{})
			if err != nil {
				b.Fatal(err)
			}
			if r.Status == StatusCut {
				cut++
			}
			late += r.Late
			frames += r.Frames
		}
		cpu, wall := cpuTime()-cpu0, time.Since(wall0)
		callSecs := float64(calls) * float64(rounds) * 0.02
		want := int64(calls) * int64(rounds) * 160
		lost := 100 * float64(late*160+uint64(max(0, want-frames))) / float64(want)
		b.ReportMetric(float64(cpu.Microseconds())/callSecs, "us-cpu/call-s")
		b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "%core")
		b.ReportMetric(float64(cut), "cut-calls")
		b.ReportMetric(float64(late), "late-pkts")
		b.ReportMetric(lost, "%audio-lost")
	}
}

// slowFile delays every write (a slow or throttled disk) and every fsync.
type slowFile struct {
	File
	write, sync time.Duration
}

func (s *slowFile) WriteAt(p []byte, off int64) (int, error) {
	time.Sleep(s.write)
	return s.File.WriteAt(p, off)
}

func (s *slowFile) Sync() error {
	time.Sleep(s.sync)
	return s.File.Sync()
}

// BenchmarkSlowDisk records one call for 4 s in real time onto a disk whose writes or fsyncs take
// the given time, and reports the peak input-buffer occupancy and whether the recording was cut.
//
//	go test -run x -bench SlowDisk -benchtime 1x ./recorder
func BenchmarkSlowDisk(b *testing.B) {
	for _, c := range []struct {
		write, sync time.Duration
		fsync       bool
	}{
		{write: 10 * time.Millisecond},
		{write: 200 * time.Millisecond},
		{write: 800 * time.Millisecond},
		{write: 2 * time.Second},
		{sync: 300 * time.Millisecond, fsync: true},
		{sync: 1500 * time.Millisecond, fsync: true},
	} {
		b.Run(fmt.Sprintf("write=%v/fsync=%v", c.write, c.sync), func(b *testing.B) {
			for n := 0; n < b.N; n++ {
				cfg := WriterConfig{Fsync: c.fsync, OpenFile: func(p string) (File, error) {
					f, err := openFile(p)
					return &slowFile{File: f, write: c.write, sync: c.sync}, err
				}}
				w := startWriter(b, b.TempDir(), cfg, realClock{})
				payload := make([]byte, 160)
				t := time.NewTicker(20 * time.Millisecond)
				const rounds = 200
				for r := 0; r < rounds; r++ {
					<-t.C
					now := time.Now()
					w.Write(Caller, uint32(r*160), uint16(r), now, payload)
					w.Write(Agent, uint32(r*160), uint16(r), now, payload)
				}
				t.Stop()
				r, err := w.Close(context.Background(), time.Time{})
				if err != nil {
					b.Fatal(err)
				}
				cut := 0.0
				if r.Status == StatusCut {
					cut = 1
				}
				b.ReportMetric(100*float64(r.PeakBuffer)/float64(r.BufferBytes), "%peak-buffer")
				b.ReportMetric(cut, "cut")
				b.ReportMetric(100*(1-float64(r.Frames)/float64(rounds*160)), "%audio-lost")
				b.ReportMetric(float64(r.Dropped), "dropped-pkts")
			}
		})
	}
}
