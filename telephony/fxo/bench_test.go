package fxo

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringside/ringside/telephony/callerid"
	"github.com/ringside/ringside/telephony/dsp"
	"github.com/ringside/ringside/telephony/fxo/fxosim"
	"github.com/ringside/ringside/telephony/g711"
)

// speechLike is d of a signal with speech's rough shape: syllable-long bursts of a few harmonics
// with a wandering pitch, noise, and pauses (no tool needed for a benchmark).
func speechLike(d time.Duration, seed uint64) []int16 {
	rng := rand.New(rand.NewPCG(seed, 1))
	var out []int16
	for dsp.Duration(int64(len(out))) < d {
		f0 := 100 + rng.Float64()*150
		out = dsp.AppendTone(out, []float64{f0, 2 * f0, 3 * f0, 5 * f0}, -22, time.Duration(80+rng.IntN(200))*time.Millisecond)
		out = dsp.AppendSilence(out, time.Duration(rng.IntN(150))*time.Millisecond)
	}
	for i := range out {
		out[i] += int16(rng.NormFloat64() * 60)
	}
	return out
}

// BenchmarkLineCall runs one whole call through a port: two rings with Bell 202 MDMF caller ID,
// off hook, 60 s of speech-like audio G.711-encoded into RTP (sent to a socket nobody reads),
// busy tone, on hook. The SIP signalling is left out (its dial returns at once); everything the
// line does per frame is in: the simulated line, ring counting, FSK and alert decoding, call-
// progress and silence detection, G.711 encoding and the RTP send. x_realtime is the call's
// length on the line's clock divided by the CPU time it took.
func BenchmarkLineCall(b *testing.B) {
	caller := callerid.Result{Number: "2125550147", Name: "DOE JANE"}
	script, err := fxosim.Script(fxosim.Call{Cadence: fxosim.Cadence{Bursts: []time.Duration{2 * time.Second}, Pause: 4 * time.Second},
		Standard: callerid.Bell202, Caller: caller, MDMF: true, Talk: speechLike(60*time.Second, 7), Hangup: "US"})
	if err != nil {
		b.Fatal(err)
	}
	sink, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	var packets atomic.Int64
	go func() { // drain, so the socket never fills
		buf := make([]byte, 1500)
		for {
			if _, err := sink.Read(buf); err != nil {
				return
			}
			packets.Add(1)
		}
	}()
	cfg := Config{Port: "bench", TrackingNumber: "5550100", CallerID: "bell202", Country: "US",
		SIPTarget: netip.MustParseAddrPort("127.0.0.1:9")}
	v, err := cfg.validate()
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	l, err := newLeg(&v, nil, log)
	if err != nil {
		b.Fatal(err)
	}
	defer l.close()
	remote := sink.LocalAddr().(*net.UDPAddr)
	fakeDial := func(l *leg, ctx context.Context, number, name string, withheld bool, ago time.Duration) (*legCall, error) {
		if number != caller.Number {
			b.Errorf("dialled with caller %q", number)
		}
		return &legCall{l: l, remote: remote, codec: g711.PCMU, callID: "bench", done: make(chan struct{}),
			payload: make([]byte, 0, FrameSamples), pkt: make([]byte, 0, 12+FrameSamples)}, nil
	}
	start := time.Unix(1_800_000_000, 0)
	var simulated time.Duration
	ctx := context.Background()
	frame := make([]int16, FrameSamples)
	b.ResetTimer()
	for b.Loop() {
		line := fxosim.New(script, start, false)
		p, err := New(cfg, line, nil, log, line)
		if err != nil {
			b.Fatal(err)
		}
		p.dial = fakeDial
		hung := false
		for range 200 * 50 { // at most 200 s of line time
			_ = line.ReadFrame(ctx, frame)
			now := line.Now()
			p.signals(ctx, l, now)
			if p.st == stateDialing {
				// Take the (instant) dial's result on this frame, as a quick appliance would
				// answer within one: faster than real time, a late goroutine would skip the call.
				for i := 0; len(p.dialRes) == 0 && i < 1e6; i++ {
					runtime.Gosched()
				}
			}
			wasCall := p.st == stateInCall || p.st == stateDialing
			p.audio(ctx, l, now, frame)
			if wasCall && p.st == stateIdle {
				hung = true
				break
			}
		}
		p.wg.Wait()
		if !hung {
			b.Fatal("the call never ended")
		}
		simulated = line.Now().Sub(start)
	}
	perCall := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(simulated)/float64(perCall), "x_realtime")
	b.ReportMetric(simulated.Seconds(), "line_s/op")
	time.Sleep(50 * time.Millisecond) // let the drain catch up (outside the timed loop)
	b.ReportMetric(float64(packets.Load())/float64(b.N), "rtp_sent/op")
}
