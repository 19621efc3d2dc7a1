package siptest

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/ringside/ringside/telephony/sdp"
)

// LoadResult is what BridgedLoad measured while the media flowed.
type LoadResult struct {
	Sent           int64 // packets the generator sent (both sides)
	ToCaller       int64 // packets that reached the caller side
	ToAgent        int64 // packets that reached the agent side
	Other          int64 // packets of other streams (hold music before the bridge)
	GeneratorDrops int64 // packets the generator's own receive buffers dropped
	// GeneratorBehind is the most the generator fell behind its 1 ms schedule: past a few tens of
	// milliseconds its core, not the appliance, was the bottleneck, and it sent a burst to catch up.
	GeneratorBehind time.Duration
	Elapsed         time.Duration
}

// BridgedLoad sets up calls bridged calls through the appliance at addr and streams 20 ms G.711
// both ways for secs seconds. The appliance must know agents b0..b<calls-1> (password pw-b<i>) in
// the queue that number reaches, and admit 127.0.0.4 as a trunk. One socket per side carries
// every call's media (SSRC 2i is caller i, 2i+1 agent i); sends go out with sendmmsg, spread over
// each 20 ms round, receives come in with recvmmsg. streaming(true) is called just before the
// media starts and streaming(false) just after it stops, so the caller can read CPU counters.
func BridgedLoad(b testing.TB, addr, number string, calls, secs int, streaming func(started bool)) LoadResult {
	b.Helper()
	callerSock := listenUDP(b, "127.0.0.4")
	agentSock := listenUDP(b, "127.0.0.3")
	agent := NewPhone(b, "127.0.0.3", "b0", "")
	agent.MediaAddr = agentSock.LocalAddr().(*net.UDPAddr).AddrPort()
	caller := NewPhone(b, "127.0.0.4", "caller", "")
	caller.MediaAddr = callerSock.LocalAddr().(*net.UDPAddr).AddrPort()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	for i := range calls {
		agent.User, agent.Pass = fmt.Sprintf("b%d", i), fmt.Sprintf("pw-b%d", i)
		if code, err := agent.Register(ctx, addr, 3600); err != nil || code != 200 {
			b.Fatal(code, err)
		}
	}
	// Set up the calls, 20 at a time.
	callerDst := make([]netip.AddrPort, calls)
	var agentDst []netip.AddrPort
	var mu sync.Mutex
	go func() {
		for ic := range agent.Incoming {
			mu.Lock()
			agentDst = append(agentDst, ic.Remote.Addr)
			mu.Unlock()
		}
	}()
	var outs []*OutCall
	sem := make(chan struct{}, 20)
	var wg sync.WaitGroup
	var setupErr atomic.Value
	for i := range calls {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			oc, err := caller.Call(ctx, "sip:"+number+"@"+addr, caller.Offer(sdp.SendRecv, 1))
			if err != nil {
				setupErr.Store(err)
				return
			}
			mu.Lock()
			callerDst[i] = oc.Remote.Addr
			outs = append(outs, oc)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err, _ := setupErr.Load().(error); err != nil {
		b.Fatalf("setup: %v", err)
	}
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := len(agentDst)
		mu.Unlock()
		if n == calls {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("only %d agent legs answered", n)
		}
	}
	var recvCaller, recvAgent, other atomic.Int64 // packets that reached the caller / the agent side
	var rwg sync.WaitGroup
	for _, c := range []struct {
		sock *net.UDPConn
		cnt  *atomic.Int64
	}{{callerSock, &recvCaller}, {agentSock, &recvAgent}} {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			pc := ipv4.NewPacketConn(c.sock)
			msgs := make([]ipv4.Message, 64)
			for i := range msgs {
				msgs[i].Buffers = [][]byte{make([]byte, 1500)}
			}
			for {
				n, err := pc.ReadBatch(msgs, 0) // recvmmsg: the generator must keep up on one core
				if err != nil {
					return
				}
				for _, m := range msgs[:n] {
					// Count only the benchmark's streams (hold music has random SSRCs).
					if m.N >= 12 && binary.BigEndian.Uint32(m.Buffers[0][8:]) < uint32(2*calls) {
						c.cnt.Add(1)
					} else {
						other.Add(1)
					}
				}
			}
		}()
	}
	streaming(true)
	t0 := time.Now()
	// Real calls are not phase-aligned: spread each 20 ms round over twenty 1 ms slots, so the
	// loopback backlog (net.core.netdev_max_backlog) sees a steady flow rather than bursts. Each
	// slot goes out with sendmmsg batches.
	pcs := [2]*ipv4.PacketConn{ipv4.NewPacketConn(callerSock), ipv4.NewPacketConn(agentSock)}
	batch := [2][]ipv4.Message{make([]ipv4.Message, calls/20+1), make([]ipv4.Message, calls/20+1)}
	for side := range 2 {
		for i := range batch[side] {
			batch[side][i].Buffers = [][]byte{make([]byte, 12+160)}
		}
	}
	dsts := [2][]*net.UDPAddr{make([]*net.UDPAddr, calls), make([]*net.UDPAddr, calls)}
	for i := range calls {
		dsts[0][i] = net.UDPAddrFromAddrPort(callerDst[i])
		dsts[1][i] = net.UDPAddrFromAddrPort(agentDst[i])
	}
	drops0 := udpDrops(callerSock) + udpDrops(agentSock)
	slots := secs * 50 * 20
	tk := time.NewTicker(time.Millisecond)
	var sent int64
	next := time.Now()
	var behind time.Duration // the most the generator fell behind its schedule
	for slot := range slots {
		// keep to the wall clock: sleep only when ahead
		next = next.Add(time.Millisecond)
		if d := time.Until(next); d > 0 {
			<-tk.C
		} else {
			behind = max(behind, -d)
		}
		tick, phase := slot/20, slot%20
		for side := range 2 {
			k := 0
			for i := phase; i < calls; i += 20 {
				p := batch[side][k].Buffers[0]
				p[0], p[1] = 0x80, 0
				binary.BigEndian.PutUint16(p[2:], uint16(tick))
				binary.BigEndian.PutUint32(p[4:], uint32(tick*160))
				binary.BigEndian.PutUint32(p[8:], uint32(2*i+side))
				batch[side][k].Addr = dsts[side][i]
				k++
			}
			for off := 0; off < k; {
				n, err := pcs[side].WriteBatch(batch[side][off:k], 0)
				if err != nil || n == 0 {
					break
				}
				off += n
			}
			sent += int64(k)
		}
	}
	tk.Stop()
	time.Sleep(300 * time.Millisecond)
	el := time.Since(t0)
	streaming(false)
	// A generator that fell behind sent its last packets in a burst, and its receivers may still be
	// reading: count until nothing more arrives for 300 ms (at most 10 s), so packets still queued
	// in the generator or in the appliance are not taken for loss.
	for quiet, last, deadline := 0, int64(-1), time.Now().Add(10*time.Second); quiet < 3 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		n := recvCaller.Load() + recvAgent.Load()
		if n == last {
			quiet++
		} else {
			quiet, last = 0, n
		}
	}
	genDrops := udpDrops(callerSock) + udpDrops(agentSock) - drops0
	callerSock.Close()
	agentSock.Close()
	rwg.Wait()
	for _, oc := range outs {
		_ = oc.DC.Bye(ctx)
	}
	return LoadResult{Sent: sent, ToCaller: recvCaller.Load(), ToAgent: recvAgent.Load(), Other: other.Load(),
		GeneratorDrops: genDrops, GeneratorBehind: behind, Elapsed: el}
}

// udpDrops reads the kernel's drop counter of a UDP socket from /proc/net/udp.
func udpDrops(c *net.UDPConn) int64 {
	ap := c.LocalAddr().(*net.UDPAddr).AddrPort()
	ip := ap.Addr().As4()
	want := fmt.Sprintf("%02X%02X%02X%02X:%04X", ip[3], ip[2], ip[1], ip[0], ap.Port())
	b, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 13 && f[1] == want {
			n, _ := strconv.ParseInt(f[len(f)-1], 10, 64)
			return n
		}
	}
	return 0
}

// listenUDP binds a UDP socket on ip, any port, with large buffers; closed at test cleanup.
func listenUDP(b testing.TB, ip string) *net.UDPConn {
	b.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(ip), 0)))
	if err != nil {
		b.Fatal(err)
	}
	_ = c.SetReadBuffer(8 << 20)
	_ = c.SetWriteBuffer(8 << 20)
	b.Cleanup(func() { c.Close() })
	return c
}

// Report reports a BridgedLoad run as benchmark metrics: the appliance's loss (without the generator's own drops),
// the raw loss, the packet rate, and the appliance's CPU share and cost per call.
func (res LoadResult) Report(b *testing.B, calls int, cpu time.Duration) {
	got := res.ToCaller + res.ToAgent
	b.ReportMetric(100*float64(res.Sent-got-res.GeneratorDrops)/float64(res.Sent), "appliance-loss-%")
	b.Logf("generator receive-buffer drops %d", res.GeneratorDrops)
	b.ReportMetric(float64(res.GeneratorBehind.Milliseconds()), "generator-behind-ms")
	b.Logf("sent %d, to caller %d, to agent %d, other %d", res.Sent, res.ToCaller, res.ToAgent, res.Other)
	b.ReportMetric(float64(calls), "calls")
	b.ReportMetric(100*float64(res.Sent-got)/float64(res.Sent), "loss-%")
	b.ReportMetric(float64(res.Sent)/res.Elapsed.Seconds(), "pkts-in/s")
	b.ReportMetric(100*cpu.Seconds()/res.Elapsed.Seconds(), "appliance-cpu-%")
	b.ReportMetric(float64(cpu.Microseconds())/res.Elapsed.Seconds()/float64(calls), "cpu-us/s/call")
}

// ProcCPU returns a process's user+system CPU time from /proc (clock ticks of 10 ms).
func ProcCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	return time.Duration(ut+st) * 10 * time.Millisecond
}
