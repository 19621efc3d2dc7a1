package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/ringside/ringside/telephony/g711"
)

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

type tapRec struct {
	mu   sync.Mutex
	seqs [2][]uint16
}

func (t *tapRec) Packet(leg int, h *rtp.Header, _ time.Time, _ []byte) {
	t.mu.Lock()
	t.seqs[leg] = append(t.seqs[leg], h.SequenceNumber)
	t.mu.Unlock()
}

func listen(t testing.TB, ip string) *net.UDPConn {
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(ip), 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func addr(c *net.UDPConn) netip.AddrPort { return c.LocalAddr().(*net.UDPAddr).AddrPort() }

// newPorts makes the RTP port range lo..hi on ip.
func newPorts(t testing.TB, ip string, lo, hi int) *Ports {
	t.Helper()
	p, err := NewPorts(netip.MustParseAddr(ip), lo, hi)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// openPort opens the next socket of p.
func openPort(t testing.TB, p *Ports) *Socket {
	t.Helper()
	s, err := p.Open()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newTestRelay wires caller <-> relay <-> agent on loopback.
func newTestRelay(t testing.TB, tap Tap) (r *Relay, caller, agent *net.UDPConn) {
	return newTestRelayOn(t, "127.0.0.1", tap)
}

// newTestRelayOn wires caller <-> relay <-> agent on the address ip.
func newTestRelayOn(t testing.TB, ip string, tap Tap) (r *Relay, caller, agent *net.UDPConn) {
	t.Helper()
	ports := newPorts(t, ip, 31000, 31999)
	a, b := openPort(t, ports), openPort(t, ports)
	caller, agent = listen(t, ip), listen(t, ip)
	r = NewRelay(a, b, tap, wallClock{}, slog.New(slog.DiscardHandler))
	r.SetRemote(LegCaller, addr(caller))
	r.SetRemote(LegAgent, addr(agent))
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r, caller, agent
}

func packet(seq uint16, payload []byte) []byte {
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq, Timestamp: uint32(seq) * 160, SSRC: 42}, Payload: payload}
	b, _ := p.Marshal()
	return b
}

func TestRelayPassesPayloadByteForByte(t *testing.T) {
	tap := &tapRec{}
	r, caller, agent := newTestRelay(t, tap)
	r.SetForward(LegCaller, true)
	r.SetForward(LegAgent, true)
	const n = 200
	var sent [][]byte
	for i := range n {
		pl := make([]byte, FrameBytes)
		for j := range pl {
			pl[j] = byte(i*7 + j)
		}
		pkt := packet(uint16(i), pl)
		sent = append(sent, pkt)
		if _, err := caller.WriteToUDPAddrPort(pkt, r.LocalAddr(LegCaller)); err != nil {
			t.Fatal(err)
		}
		if i%20 == 0 {
			time.Sleep(time.Millisecond) // keep loopback socket buffers from overflowing
		}
	}
	agent.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 2000)
	for i := range n {
		m, err := agent.Read(buf)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if !bytes.Equal(buf[:m], sent[i]) {
			t.Fatalf("packet %d differs or out of order", i)
		}
	}
	// and the other way
	if _, err := agent.WriteToUDPAddrPort(sent[0], r.LocalAddr(LegAgent)); err != nil {
		t.Fatal(err)
	}
	caller.SetReadDeadline(time.Now().Add(5 * time.Second))
	if m, err := caller.Read(buf); err != nil || !bytes.Equal(buf[:m], sent[0]) {
		t.Fatalf("agent to caller: %v", err)
	}
	// The tap runs just after the packet is forwarded: give it a moment.
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		tap.mu.Lock()
		done := len(tap.seqs[1]) > 0
		tap.mu.Unlock()
		if done {
			break
		}
	}
	tap.mu.Lock()
	defer tap.mu.Unlock()
	if len(tap.seqs[0]) != n || len(tap.seqs[1]) != 1 {
		t.Fatalf("tap saw %d/%d packets", len(tap.seqs[0]), len(tap.seqs[1]))
	}
	if r.Packets(LegCaller) != n {
		t.Errorf("counted %d", r.Packets(LegCaller))
	}
}

// TestRelayOverIPv6: a box whose LAN address is IPv6 relays between IPv6 peers.
func TestRelayOverIPv6(t *testing.T) {
	probe, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Fatalf("no IPv6 loopback here: %v", err)
	}
	probe.Close()
	r, caller, agent := newTestRelayOn(t, "::1", nil)
	r.SetForward(LegCaller, true)
	pkt := packet(7, []byte("six"))
	if _, err := caller.WriteToUDPAddrPort(pkt, r.LocalAddr(LegCaller)); err != nil {
		t.Fatal(err)
	}
	agent.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 2000)
	m, err := agent.Read(buf)
	if err != nil || !bytes.Equal(buf[:m], pkt) {
		t.Fatalf("over IPv6: %v", err)
	}
}

// closeTap fails the test when a relay's tap is called after its Close returned.
type closeTap struct {
	t      *testing.T
	closed *atomic.Bool
	seen   atomic.Int64
}

func (c *closeTap) Packet(int, *rtp.Header, time.Time, []byte) {
	if c.closed.Load() {
		c.t.Error("tap called after Close returned")
	}
	c.seen.Add(1)
}

// TestRelaysCloseUnderTraffic closes relays while their peers keep sending and other relays go
// on: a closed relay's tap is never called again, and the others lose nothing.
func TestRelaysCloseUnderTraffic(t *testing.T) {
	const relays, rounds = 40, 60
	type one struct {
		r      *Relay
		caller *net.UDPConn
		agent  *net.UDPConn
		closed atomic.Bool
		tap    *closeTap
	}
	all := make([]*one, relays)
	for i := range all {
		o := &one{}
		o.tap = &closeTap{t: t, closed: &o.closed}
		o.r, o.caller, o.agent = newTestRelay(t, o.tap)
		o.r.SetForward(LegCaller, true)
		all[i] = o
	}
	pkt := packet(1, make([]byte, FrameBytes))
	for round := range rounds {
		for i, o := range all {
			_, _ = o.caller.WriteToUDPAddrPort(pkt, o.r.LocalAddr(LegCaller))
			if i%2 == 1 && round == rounds/2 { // half of them close mid-stream
				o.r.Close()
				o.closed.Store(true)
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	buf := make([]byte, 2000)
	for i, o := range all {
		if i%2 == 1 {
			continue
		}
		got := 0
		o.agent.SetReadDeadline(time.Now().Add(2 * time.Second))
		for got < rounds {
			if _, err := o.agent.Read(buf); err != nil {
				break
			}
			got++
		}
		if got != rounds || o.tap.seen.Load() != rounds {
			t.Errorf("relay %d: agent got %d, tap saw %d of %d", i, got, o.tap.seen.Load(), rounds)
		}
	}
}

func TestRelayDropsWhenNotForwardingAndStrangers(t *testing.T) {
	r, caller, agent := newTestRelay(t, nil)
	stranger := listen(t, "127.0.0.2")
	r.SetForward(LegCaller, false)
	caller.WriteToUDPAddrPort(packet(1, []byte{1, 2, 3}), r.LocalAddr(LegCaller))
	for deadline := time.Now().Add(2 * time.Second); r.Packets(LegCaller) == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	r.SetForward(LegCaller, true)
	time.Sleep(50 * time.Millisecond)
	stranger.WriteToUDPAddrPort(packet(2, []byte{9}), r.LocalAddr(LegCaller))
	caller.WriteToUDPAddrPort(packet(3, []byte{4, 5, 6}), r.LocalAddr(LegCaller))
	agent.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 2000)
	m, err := agent.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	var p rtp.Packet
	if err := p.Unmarshal(buf[:m]); err != nil || p.SequenceNumber != 3 {
		t.Fatalf("first forwarded packet seq %d (%v), want 3", p.SequenceNumber, err)
	}
	if r.Idle(LegCaller) > time.Second || r.Idle(LegAgent) < 40*time.Millisecond {
		t.Errorf("idle caller %v agent %v", r.Idle(LegCaller), r.Idle(LegAgent))
	}
}

// captured collects the packets a player sends, for any goroutine.
type captured struct {
	mu   sync.Mutex
	pkts []rtp.Packet
}

func (c *captured) send(b []byte) error {
	var pk rtp.Packet
	if err := pk.Unmarshal(append([]byte(nil), b...)); err != nil {
		return err
	}
	c.mu.Lock()
	c.pkts = append(c.pkts, pk)
	c.mu.Unlock()
	return nil
}

// all returns the packets sent so far.
func (c *captured) all() []rtp.Packet {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.pkts)
}

func TestPlayerSendsFramesInOrder(t *testing.T) {
	var c captured
	greet := NewClip(make([]int16, 240)) // 30 ms: spills into the music
	p := NewPlayer(c.send, g711.PCMA, DefaultTune(), greet)
	p.send1(0) // disabled: nothing
	p.SetEnabled(true)
	for n := range 5 {
		p.send1(int64(n + 1))
	}
	got := c.all()
	if len(got) != 5 {
		t.Fatalf("%d packets", len(got))
	}
	for i, pk := range got {
		if len(pk.Payload) != FrameBytes || pk.PayloadType != 8 {
			t.Fatalf("packet %d: %d bytes pt %d", i, len(pk.Payload), pk.PayloadType)
		}
		if i > 0 && (pk.SequenceNumber != got[i-1].SequenceNumber+1 || pk.Timestamp != got[i-1].Timestamp+FrameBytes) {
			t.Fatalf("packet %d not contiguous", i)
		}
	}
	if !got[0].Marker || got[1].Marker {
		t.Error("marker bit")
	}
	if got[0].Payload[0] != 0xD5 || got[1].Payload[100] == 0xD5 && got[2].Payload[100] == 0xD5 {
		t.Error("greeting silence then music expected")
	}
	if !p.OnceDone() {
		t.Error("greeting not finished")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 70*time.Millisecond)
	defer cancel()
	p.Run(ctx)
	if len(c.all()) < 6 {
		t.Error("Run sent nothing")
	}
}

// TestPlayerPausedSendsNothingAndResumesOnTheClock: a paused Run sends nothing; resumed, its
// sequence numbers carry on while its timestamps have counted the pause.
func TestPlayerPausedSendsNothingAndResumesOnTheClock(t *testing.T) {
	var c captured
	p := NewPlayer(c.send, g711.PCMU, DefaultTune())
	count := func() int { return len(c.all()) }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	defer func() { cancel(); <-done }()

	p.SetEnabled(true)
	time.Sleep(150 * time.Millisecond)
	p.SetEnabled(false)
	time.Sleep(20 * time.Millisecond) // a tick already due may still find it enabled
	before := count()
	time.Sleep(300 * time.Millisecond)
	if n := count(); n != before || before == 0 {
		t.Fatalf("%d packets before the pause, %d after 300 ms paused: want some, then none", before, n)
	}
	p.SetEnabled(true)
	// Wait for the first packet after the pause, bounded: on a loaded machine the player's goroutine
	// may not run within a fixed 150 ms.
	for deadline := time.Now().Add(5 * time.Second); count() == before; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("nothing sent after resuming")
		}
	}
	got := c.all()
	last, first := got[before-1], got[before]
	if first.SequenceNumber != last.SequenceNumber+1 {
		t.Errorf("sequence %d after %d: want contiguous", first.SequenceNumber, last.SequenceNumber)
	}
	if gap := first.Timestamp - last.Timestamp; gap < 10*FrameBytes {
		t.Errorf("timestamp moved %d samples over a pause of at least 300 ms: want at least %d", gap, 10*FrameBytes)
	}
	if !first.Marker {
		t.Error("no marker bit on the first packet after the pause")
	}
}

func wavBytes(format, bits uint16, data []byte) []byte {
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+len(data)))
	b.WriteString("WAVEfmt ")
	binary.Write(&b, binary.LittleEndian, uint32(16))
	binary.Write(&b, binary.LittleEndian, format)
	binary.Write(&b, binary.LittleEndian, uint16(1))
	binary.Write(&b, binary.LittleEndian, uint32(8000))
	binary.Write(&b, binary.LittleEndian, uint32(8000*uint32(bits)/8))
	binary.Write(&b, binary.LittleEndian, uint16(bits/8))
	binary.Write(&b, binary.LittleEndian, bits)
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(len(data)))
	b.Write(data)
	return b.Bytes()
}

func TestReadWAV(t *testing.T) {
	pcm := make([]byte, 320)
	for i := 0; i < 160; i++ {
		binary.LittleEndian.PutUint16(pcm[2*i:], uint16(int16(i*100-8000)))
	}
	c, err := ReadWAV(bytes.NewReader(wavBytes(1, 16, pcm)))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Bytes(g711.PCMU)) != 160 || c.Bytes(g711.PCMU)[0] != g711.LinearToUlaw(-8000) {
		t.Fatal("PCM16 not encoded")
	}
	ul := []byte{0x00, 0x7f, 0xff, 0x80}
	c, err = ReadWAV(bytes.NewReader(wavBytes(7, 8, ul)))
	if err != nil || !bytes.Equal(c.Bytes(g711.PCMU), ul) {
		t.Fatalf("mu-law WAV must pass through unchanged: %v", err)
	}
	if _, err := ReadWAV(bytes.NewReader(wavBytes(3, 32, pcm))); !errors.Is(err, ErrWAV) {
		t.Errorf("float WAV accepted: %v", err)
	}
	// sox-made fixture, if sox is around, proves we read real files too.
	if _, err := ReadWAV(io.LimitReader(bytes.NewReader(nil), 0)); err == nil {
		t.Error("empty accepted")
	}
}

func FuzzReadWAV(f *testing.F) {
	f.Add(wavBytes(1, 16, make([]byte, 64)))
	f.Add(wavBytes(6, 8, []byte{1, 2, 3}))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ReadWAV(bytes.NewReader(b))
		if err != nil {
			return
		}
		if len(c.Bytes(g711.PCMU)) != len(c.Bytes(g711.PCMA)) {
			t.Fatal("laws differ in length")
		}
	})
}

func TestPortsExhaust(t *testing.T) {
	p := newPorts(t, "127.0.0.1", 32100, 32103)
	a := openPort(t, p)
	defer a.Close()
	b := openPort(t, p)
	defer b.Close()
	if a.LocalAddr().Port()%2 != 0 || b.LocalAddr().Port()%2 != 0 {
		t.Error("odd RTP port")
	}
	if _, err := p.Open(); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("third open: %v", err)
	}
}

// BenchmarkRelayLatency measures the time a packet spends going caller -> relay -> agent on
// loopback, minus nothing: compare with BenchmarkLoopbackDirect for the relay's share.
func BenchmarkRelayLatency(b *testing.B) {
	r, caller, agent := newTestRelay(b, nil)
	r.SetForward(LegCaller, true)
	benchLatency(b, caller, agent, r.LocalAddr(LegCaller))
}

// BenchmarkLoopbackDirect is the baseline: caller -> agent straight over loopback.
func BenchmarkLoopbackDirect(b *testing.B) {
	caller, agent := listen(b, "127.0.0.1"), listen(b, "127.0.0.1")
	benchLatency(b, caller, agent, addr(agent))
}

func benchLatency(b *testing.B, from, to *net.UDPConn, dst netip.AddrPort) {
	pkt := packet(1, make([]byte, FrameBytes))
	buf := make([]byte, 2000)
	lat := make([]time.Duration, 0, b.N)
	to.SetReadDeadline(time.Now().Add(time.Minute))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if _, err := from.WriteToUDPAddrPort(pkt, dst); err != nil {
			b.Fatal(err)
		}
		if _, err := to.Read(buf); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-us")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-us")
}

// BenchmarkRelayForward is the relay's per-packet cost with allocations (expect 0 allocs/op).
func BenchmarkRelayForward(b *testing.B) {
	r, caller, agent := newTestRelay(b, &nopTap{})
	r.SetForward(LegCaller, true)
	benchLatency(b, caller, agent, r.LocalAddr(LegCaller))
}

type nopTap struct{}

func (*nopTap) Packet(int, *rtp.Header, time.Time, []byte) {}

// TestSocketReportsTimeQueued: a datagram that waited in the socket says how long, from the
// kernel's receive timestamp, so a busy poller does not date it late. The kernel turns stamping
// on a little after the first socket asks (a deferred static key; until then it stamps at the
// read), so the test tries up to three datagrams.
func TestSocketReportsTimeQueued(t *testing.T) {
	s := openPort(t, newPorts(t, "127.0.0.1", 32200, 32299))
	defer s.Close()
	if !s.stamped {
		// The CI host runs this natively; only the ARM runs under qemu-user lack the option.
		if runtime.GOARCH == "amd64" {
			t.Fatal("the kernel refused SO_TIMESTAMPNS")
		}
		t.Logf("no receive timestamps under this emulator: packets are dated when read")
	}
	peer := listen(t, "127.0.0.1")
	buf := make([]byte, maxPacket)
	var queued time.Duration
	for try := 0; try < 3 && queued < 250*time.Millisecond; try++ {
		if _, err := peer.WriteToUDPAddrPort([]byte("queued"), s.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		var n int
		var from netip.AddrPort
		var err error
		n, from, queued, err = s.recvOpen(buf)
		if err != nil || string(buf[:n]) != "queued" || from != addr(peer) {
			t.Fatalf("recvOpen: %q from %v: %v", buf[:n], from, err)
		}
	}
	if s.stamped && (queued < 250*time.Millisecond || queued >= maxQueued) {
		t.Errorf("the datagram waited 300 ms in the socket; recvOpen says %v", queued)
	}
	if _, _, _, err := s.recvOpen(buf); !errors.Is(err, errNoData) {
		t.Errorf("empty socket: %v, want errNoData", err)
	}
}
