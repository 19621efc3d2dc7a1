package media

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// Leg numbers: the caller faces leg 0, the agent faces leg 1.
const (
	LegCaller = 0
	LegAgent  = 1
)

// Tap receives every RTP packet that arrives on a leg, with its parsed header (SSRC, payload type,
// sequence number, timestamp). It is called on the relay's reader goroutine and must not block or
// keep h or payload (both are reused).
type Tap interface {
	Packet(leg int, h *rtp.Header, arrival time.Time, payload []byte)
}

// Clock gives the current time; arrival times and idle times use it (time.Now carries the
// monotonic reading, so idle durations are monotonic).
type Clock interface{ Now() time.Time }

// maxPacket is the read buffer: RTP over UDP on Ethernet never exceeds an MTU.
const maxPacket = 1500

// Relay passes RTP between the two legs of a call.
type Relay struct {
	conns [2]*net.UDPConn
	tap   Tap
	clock Clock
	log   *slog.Logger
	start time.Time

	remote  [2]atomic.Pointer[netip.AddrPort] // where leg i's peer receives
	forward [2]atomic.Bool                    // relay packets arriving on leg i to the other leg
	lastRx  [2]atomic.Int64                   // ns since start of the last packet on leg i, -1 none
	packets [2]atomic.Uint64

	wg     sync.WaitGroup
	closed atomic.Bool
}

// NewRelay takes ownership of the two sockets (leg 0 faces the caller, leg 1 the agent). tap may be nil.
func NewRelay(caller, agent *net.UDPConn, tap Tap, clock Clock, log *slog.Logger) *Relay {
	r := &Relay{conns: [2]*net.UDPConn{caller, agent}, tap: tap, clock: clock, log: log, start: clock.Now()}
	r.lastRx[0].Store(-1)
	r.lastRx[1].Store(-1)
	return r
}

// LocalAddr is the address leg's peer should send RTP to.
func (r *Relay) LocalAddr(leg int) netip.AddrPort {
	return r.conns[leg].LocalAddr().(*net.UDPAddr).AddrPort()
}

// SetRemote sets where the peer of leg receives RTP (from its SDP).
func (r *Relay) SetRemote(leg int, a netip.AddrPort) {
	a = netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
	r.remote[leg].Store(&a)
}

// SetForward turns relaying of packets arriving on leg to the other leg on or off.
func (r *Relay) SetForward(leg int, on bool) { r.forward[leg].Store(on) }

// Send writes one packet to leg's peer (used by the player). It drops the packet when the peer's
// address is not known yet.
func (r *Relay) Send(leg int, pkt []byte) error {
	if r.closed.Load() {
		return ErrClosed
	}
	dst := r.remote[leg].Load()
	if dst == nil || !dst.Addr().IsValid() || dst.Addr().IsUnspecified() {
		return nil
	}
	_, err := r.conns[leg].WriteToUDPAddrPort(pkt, *dst)
	return err
}

// Packets returns how many valid RTP packets arrived on leg.
func (r *Relay) Packets(leg int) uint64 { return r.packets[leg].Load() }

// Idle reports how long leg has been silent: since its last packet, or since the relay started.
func (r *Relay) Idle(leg int) time.Duration {
	now := r.clock.Now().Sub(r.start)
	last := r.lastRx[leg].Load()
	if last < 0 {
		return now
	}
	return now - time.Duration(last)
}

// Start launches the two reader goroutines. Close stops them and waits.
func (r *Relay) Start() {
	for leg := range 2 {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.read(leg)
		}()
	}
}

// Close closes both sockets and waits for the readers to return.
func (r *Relay) Close() {
	if r.closed.Swap(true) {
		return
	}
	r.conns[0].Close()
	r.conns[1].Close()
	r.wg.Wait()
}

// read is the per-leg loop; it ends when the socket is closed. It allocates nothing per packet.
func (r *Relay) read(leg int) {
	var buf [maxPacket]byte
	var h rtp.Header
	in, out := r.conns[leg], r.conns[1-leg]
	for {
		n, src, err := in.ReadFromUDPAddrPort(buf[:])
		if err != nil {
			if errors.Is(err, net.ErrClosed) || r.closed.Load() {
				return
			}
			continue // ICMP port unreachable and similar: keep reading
		}
		peer := r.remote[leg].Load()
		if peer == nil || src.Addr().Unmap() != peer.Addr() {
			continue // only the signalled peer may send media into the call
		}
		hl, err := h.Unmarshal(buf[:n])
		if err != nil || h.Version != 2 {
			continue
		}
		now := r.clock.Now()
		r.lastRx[leg].Store(int64(now.Sub(r.start)))
		r.packets[leg].Add(1)
		if r.forward[leg].Load() {
			if dst := r.remote[1-leg].Load(); dst != nil && dst.Port() != 0 && !dst.Addr().IsUnspecified() {
				_, _ = out.WriteToUDPAddrPort(buf[:n], *dst)
			}
		}
		if r.tap != nil {
			end := n
			if h.Padding && n > hl {
				if p := int(buf[n-1]); p <= n-hl {
					end = n - p
				}
			}
			r.tap.Packet(leg, &h, now, buf[hl:end])
		}
	}
}
