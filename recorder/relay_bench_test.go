package recorder

import (
	"net"
	"net/netip"
	"testing"
)

// BenchmarkUDPRelayLoopback is a stand-in for the relay's own per-packet cost, so recording's cost
// can be put as a ratio to it: one op is the relay's read of a 172-byte RTP packet from one
// loopback socket and its write to another (the least any relay does). A sender and a sink
// goroutine keep the relay fed; "ns-cpu/pkt" is the whole process's CPU per packet (sender and sink
// included: about three times the relay's share), "ns/op" the relay loop's wall time per packet.
//
//	go test -run x -bench 'UDPRelay|WriterPacket' -benchtime 500000x ./recorder
func BenchmarkUDPRelayLoopback(b *testing.B) {
	lo := netip.MustParseAddrPort("127.0.0.1:0")
	in, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(lo))
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	sink, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(lo))
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	out, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(lo))
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	src, err := net.DialUDP("udp", nil, in.LocalAddr().(*net.UDPAddr))
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	sinkAddr := sink.LocalAddr().(*net.UDPAddr).AddrPort()

	stop := make(chan struct{})
	done := make(chan struct{}, 2)
	credit := make(chan struct{}, 64) // the sender stays at most 64 packets ahead of the relay
	go func() {
		defer func() { done <- struct{}{} }()
		pkt := make([]byte, 172)
		for {
			select {
			case <-stop:
				return
			case <-credit:
				src.Write(pkt)
			}
		}
	}()
	go func() {
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 1500)
		for {
			if _, _, err := sink.ReadFromUDPAddrPort(buf); err != nil {
				return
			}
		}
	}()
	for i := 0; i < 64; i++ {
		credit <- struct{}{}
	}
	buf := make([]byte, 1500)
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		n, _, err := in.ReadFromUDPAddrPort(buf)
		if err != nil {
			b.Fatal(err)
		}
		credit <- struct{}{}
		if _, err := out.WriteToUDPAddrPort(buf[:n], sinkAddr); err != nil {
			b.Fatal(err)
		}
	}
	cpu := cpuTime() - cpu0
	b.StopTimer()
	close(stop)
	sink.Close()
	<-done
	<-done
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "ns-cpu/pkt")
}
