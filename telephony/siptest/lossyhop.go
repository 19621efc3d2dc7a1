package siptest

import (
	"net"
	"net/netip"
	"sync"
	"testing"

	"github.com/emiago/sipgo/sip"
	psdp "github.com/pion/sdp/v3"
)

// LossyHop is a bad network between a SIP caller (sipp, say) and the system under test. SIP passes
// both ways untouched, except that the SDP the system answers with is rewritten to name the hop's
// own RTP socket; so the caller's RTP reaches the system through the hop, which drops and reorders
// it as told. RTP the system sends goes to the caller directly (the caller's offer is not touched).
//
// The caller must send SIP to SIP and ask for responses at the source port (Via ;rport), and the
// hop must share the caller's IP address, so the system sees RTP from the address the caller's
// SDP signalled.
type LossyHop struct {
	// SIP is where the caller sends its requests.
	SIP netip.AddrPort

	target   netip.AddrPort
	sip, rtp *net.UDPConn
	drop     func(i int) bool
	swap     func(i int) bool

	mu        sync.Mutex
	caller    netip.AddrPort // the caller's SIP socket, learned from its first request
	media     netip.AddrPort // where the system receives the caller's RTP, from its answer
	forwarded []int          // indexes of the caller's packets passed on, in the order sent
	dropped   []int
	wg        sync.WaitGroup
}

// NewLossyHop binds a SIP and an RTP socket on ip (the caller's address) and relays to target, the
// system's SIP address. Packet i (counted from 0 in the order the caller's RTP arrives) is dropped
// when drop(i), and sent after packet i+1 when swap(i); either may be nil. Closed at test cleanup.
func NewLossyHop(t testing.TB, ip string, target netip.AddrPort, drop, swap func(i int) bool) *LossyHop {
	t.Helper()
	h := &LossyHop{target: target, sip: listenUDP(t, ip), rtp: listenUDP(t, ip), drop: drop, swap: swap}
	h.SIP = h.sip.LocalAddr().(*net.UDPAddr).AddrPort()
	h.wg.Add(2)
	go func() { defer h.wg.Done(); h.relaySIP(t) }()
	go func() { defer h.wg.Done(); h.relayRTP() }()
	t.Cleanup(func() { h.sip.Close(); h.rtp.Close(); h.wg.Wait() })
	return h
}

// Forwarded returns the indexes of the caller's RTP packets the hop passed on, in the order sent.
func (h *LossyHop) Forwarded() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]int(nil), h.forwarded...)
}

// Dropped returns the indexes of the caller's RTP packets the hop dropped.
func (h *LossyHop) Dropped() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]int(nil), h.dropped...)
}

func (h *LossyHop) relaySIP(t testing.TB) {
	buf := make([]byte, 65535)
	for {
		n, src, err := h.sip.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		pkt := append([]byte(nil), buf[:n]...)
		h.mu.Lock()
		if src != h.target && !h.caller.IsValid() {
			h.caller = src
		}
		caller := h.caller
		h.mu.Unlock()
		if src != h.target {
			_, _ = h.sip.WriteToUDPAddrPort(pkt, h.target)
			continue
		}
		if out, err := h.rewriteAnswer(pkt); err != nil {
			t.Errorf("lossy hop: %v", err)
		} else if caller.IsValid() {
			_, _ = h.sip.WriteToUDPAddrPort(out, caller)
		}
	}
}

// rewriteAnswer points the SDP of a message from the system at the hop's RTP socket, noting the
// address it named; messages without SDP pass unchanged.
func (h *LossyHop) rewriteAnswer(pkt []byte) ([]byte, error) {
	msg, err := sip.ParseMessage(pkt)
	if err != nil || len(msg.Body()) == 0 {
		return pkt, nil // keep-alives and the like pass as they are
	}
	var sd psdp.SessionDescription
	if err := sd.UnmarshalString(string(msg.Body())); err != nil {
		return nil, err
	}
	if sd.ConnectionInformation == nil || sd.ConnectionInformation.Address == nil || len(sd.MediaDescriptions) == 0 {
		return pkt, nil
	}
	addr, err := netip.ParseAddr(sd.ConnectionInformation.Address.Address)
	if err != nil {
		return nil, err
	}
	md := sd.MediaDescriptions[0]
	h.mu.Lock()
	h.media = netip.AddrPortFrom(addr, uint16(md.MediaName.Port.Value))
	h.mu.Unlock()
	own := h.rtp.LocalAddr().(*net.UDPAddr).AddrPort()
	sd.ConnectionInformation.Address.Address = own.Addr().String()
	md.ConnectionInformation = nil
	md.MediaName.Port.Value = int(own.Port())
	body, err := sd.Marshal()
	if err != nil {
		return nil, err
	}
	msg.SetBody(body) // and its Content-Length
	return []byte(msg.String()), nil
}

func (h *LossyHop) relayRTP() {
	buf := make([]byte, 1500)
	var held []byte
	heldIndex := -1
	for next := 0; ; {
		n, _, err := h.rtp.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		h.mu.Lock()
		dst := h.media
		h.mu.Unlock()
		if !dst.IsValid() {
			continue
		}
		i := next
		next++
		send := func(b []byte, index int) {
			_, _ = h.rtp.WriteToUDPAddrPort(b, dst)
			h.mu.Lock()
			h.forwarded = append(h.forwarded, index)
			h.mu.Unlock()
		}
		switch {
		case h.drop != nil && h.drop(i):
			h.mu.Lock()
			h.dropped = append(h.dropped, i)
			h.mu.Unlock()
		case h.swap != nil && h.swap(i) && held == nil:
			held, heldIndex = append([]byte(nil), buf[:n]...), i
		default:
			send(buf[:n], i)
			if held != nil {
				send(held, heldIndex)
				held = nil
			}
		}
	}
}
