package uplink_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ringside/ringside/uplink"
	"github.com/ringside/ringside/uplink/uplinktest"
)

// BenchmarkDrainBacklog drains a backlog of 10,000 and 100,000 summaries to a local mosquitto at
// QoS 1, without a rate cap. It reports messages per second and the peak live heap while draining;
// the heap must not grow with the backlog. Run:
//
//	go test -run '^$' -bench BenchmarkDrainBacklog -benchtime 1x ./uplink/
func BenchmarkDrainBacklog(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		for _, window := range []int{32, 256} {
			b.Run(fmt.Sprintf("backlog=%d/in_flight=%d", n, window), func(b *testing.B) { benchDrain(b, n, window) })
		}
	}
}

func benchDrain(b *testing.B, n, window int) {
	m := uplinktest.StartMosquitto(b, uplinktest.BrokerOptions{})
	var rate, peakMB, cpuPerMsg float64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ob, err := uplinktest.OpenOutbox(filepath.Join(b.TempDir(), "outbox.db"))
		if err != nil {
			b.Fatal(err)
		}
		fill(b, ob, n)
		cfg := childConfig(m.URL(), 0)
		cfg.ClientID = fmt.Sprintf("bench-%d-%d-%d", n, window, i)
		cfg.InFlight = window
		cfg.StatusInterval = time.Hour // count the backlog once, not during the run
		p, err := uplink.New(cfg, ob, slog.New(slog.NewTextHandler(io.Discard, nil)), uplink.SystemClock{}, mrand.New(mrand.NewPCG(1, 1)))
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		ctx, cancel := context.WithCancel(context.Background())
		peak := make(chan uint64, 1)
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); peak <- samplePeakHeap(ctx) }()
		if f := os.Getenv("UPLINK_BENCH_CPUPROFILE"); f != "" { // profile the drain alone, not the fill
			pf, err := os.Create(f)
			if err != nil {
				b.Fatal(err)
			}
			_ = pprof.StartCPUProfile(pf)
			defer func() { pprof.StopCPUProfile(); pf.Close() }()
		}
		cpu0 := cpuTime()
		b.StartTimer()
		start := time.Now()
		go func() { defer wg.Done(); _ = p.Run(ctx) }()
		var connectedAt, firstAt time.Duration
		for p.Status().Delivered < int64(n) {
			if st := p.Status(); connectedAt == 0 && st.State == uplink.StateConnected {
				connectedAt = time.Since(start)
			} else if firstAt == 0 && st.Delivered > 0 {
				firstAt = time.Since(start)
			}
			time.Sleep(2 * time.Millisecond)
			if time.Since(start) > 5*time.Minute {
				b.Fatalf("drain stuck at %d of %d", p.Status().Delivered, n)
			}
		}
		el := time.Since(start)
		cpuPerMsg += float64((cpuTime() - cpu0).Microseconds()) / float64(n)
		b.Logf("backlog %d: connected after %v, first rows deleted after %v, all after %v", n, connectedAt, firstAt, el)
		b.StopTimer()
		cancel()
		wg.Wait()
		ob.Close()
		rate += float64(n) / el.Seconds()
		peakMB = max(peakMB, float64(<-peak)/(1<<20))
	}
	b.ReportMetric(rate/float64(b.N), "msgs/s")
	b.ReportMetric(peakMB, "peak-heap-MiB")
	b.ReportMetric(cpuPerMsg/float64(b.N), "cpu-µs/msg")
	b.ReportMetric(0, "ns/op")
}

func fill(b *testing.B, ob *uplinktest.SQLiteOutbox, n int) {
	enc, err := uplink.NewEncoder(testTopics, uplink.Privacy{Mode: uplink.CallerMasked})
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2026, 10, 1, 8, 0, 0, 0, time.UTC)
	batch := make([]uplink.Message, 0, 5000)
	for i := 0; i < n; i++ {
		arr := at.Add(time.Duration(i) * 20 * time.Second)
		msg, err := enc.Call(uplink.Summary{CallID: fmt.Sprintf("bench-%07d", i), Arrived: arr, Connected: arr.Add(8 * time.Second), Ended: arr.Add(3 * time.Minute),
			WaitMs: 8000, TalkMs: 172000, Outcome: "connected", Line: "trunk", TrackingNumber: "+441632960001",
			Attribution: uplink.Attribution{Source: "paid_search", Campaign: "winter", Medium: "cpc", Keyword: "emergency plumber", GCLID: "Cj0KCQiA"},
			Queue:       "main", Agent: "alice", Quality: uplink.Quality{Caller: uplink.LegQuality{Packets: 9000, MOS: 4.3}}}, "+441632960123")
		if err != nil {
			b.Fatal(err)
		}
		batch = append(batch, msg)
		if len(batch) == cap(batch) || i == n-1 {
			if err := ob.Write(context.Background(), time.Now(), batch...); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
}

// cpuTime is this process's user+system CPU time: a per-message cost that, unlike messages per
// second, does not depend on what else the machine is doing (the broker's share is not included).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// samplePeakHeap reads the live heap every 5 ms until ctx ends and returns the largest value.
func samplePeakHeap(ctx context.Context) uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	for {
		metrics.Read(s)
		peak = max(peak, s[0].Value.Uint64())
		select {
		case <-ctx.Done():
			return peak
		case <-time.After(5 * time.Millisecond):
		}
	}
}
