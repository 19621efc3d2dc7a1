package siptest

import (
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// RTPPeer sends and records RTP on one UDP socket (symmetric, as phones do).
type RTPPeer struct {
	Conn *net.UDPConn

	mu       sync.Mutex
	received []rtp.Packet
	wg       sync.WaitGroup
}

// NewRTPPeer binds ip:0 and starts recording what arrives. Closed at test cleanup.
func NewRTPPeer(t testing.TB, ip string) *RTPPeer {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(ip), 0)))
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadBuffer(1 << 20)
	p := &RTPPeer{Conn: c}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		buf := make([]byte, 1500)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			var pk rtp.Packet
			if pk.Unmarshal(append([]byte(nil), buf[:n]...)) == nil {
				p.mu.Lock()
				p.received = append(p.received, pk)
				p.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { c.Close(); p.wg.Wait() })
	return p
}

// Addr is where the peer receives.
func (p *RTPPeer) Addr() netip.AddrPort { return p.Conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// Received returns a copy of the packets received so far.
func (p *RTPPeer) Received() []rtp.Packet {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]rtp.Packet(nil), p.received...)
}

// Reset forgets received packets.
func (p *RTPPeer) Reset() {
	p.mu.Lock()
	p.received = nil
	p.mu.Unlock()
}

// Payload returns the deterministic test payload of packet i (160 bytes, no two packets alike).
func Payload(i int) []byte {
	b := make([]byte, 160)
	for j := range b {
		b[j] = byte(i*31 + j*7 + i>>8)
	}
	return b
}

// SendStream sends n packets of 20 ms G.711 (payload type pt, payload Payload(i)) to dst, paced
// every interval (0 sends as fast as the socket allows with a short breather every 50 packets).
func (p *RTPPeer) SendStream(dst netip.AddrPort, pt uint8, ssrc uint32, n int, interval time.Duration) error {
	var t *time.Ticker
	if interval > 0 {
		t = time.NewTicker(interval)
		defer t.Stop()
	}
	buf := make([]byte, 12+160)
	for i := range n {
		pk := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: uint16(i), Timestamp: uint32(i * 160), SSRC: ssrc, Marker: i == 0},
			Payload: Payload(i)}
		m, err := pk.MarshalTo(buf)
		if err != nil {
			return err
		}
		if _, err := p.Conn.WriteToUDPAddrPort(buf[:m], dst); err != nil {
			return err
		}
		if t != nil {
			<-t.C
		} else if i%50 == 49 {
			time.Sleep(2 * time.Millisecond)
		}
	}
	return nil
}
