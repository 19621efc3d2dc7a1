package media

import (
	"log/slog"
	"net/netip"
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
// sequence number, timestamp) and its arrival time (when the kernel received it, which is earlier
// than the relay's read when the box is busy). It is called on the relay's reader goroutine and must not block or
// keep h or payload (both are reused).
type Tap interface {
	Packet(leg int, h *rtp.Header, arrival time.Time, payload []byte)
}

// Clock gives the current time; arrival times and idle times use it (time.Now carries the
// monotonic reading, so idle durations are monotonic).
type Clock interface{ Now() time.Time }

// maxPacket is the read buffer: RTP over UDP on Ethernet never exceeds an MTU.
const maxPacket = 1500

// Relay passes RTP between the two legs of a call. Its sockets are read by a poller (engine.go),
// not by goroutines of its own.
type Relay struct {
	socks  [2]*Socket
	tap    Tap
	clock  Clock
	log    *slog.Logger
	start  time.Time
	poller *poller

	remote  [2]atomic.Pointer[dest] // where leg i's peer receives
	forward [2]atomic.Bool          // relay packets arriving on leg i to the other leg
	lastRx  [2]atomic.Int64         // ns since start of the last packet on leg i, -1 none
	packets [2]atomic.Uint64

	h      rtp.Header // reused by readOne, which only the relay's poller calls
	closed atomic.Bool
}

// NewRelay takes ownership of the two sockets (leg 0 faces the caller, leg 1 the agent). tap may be nil.
func NewRelay(caller, agent *Socket, tap Tap, clock Clock, log *slog.Logger) *Relay {
	r := &Relay{socks: [2]*Socket{caller, agent}, tap: tap, clock: clock, log: log, start: clock.Now()}
	r.lastRx[0].Store(-1)
	r.lastRx[1].Store(-1)
	return r
}

// LocalAddr is the address leg's peer should send RTP to.
func (r *Relay) LocalAddr(leg int) netip.AddrPort { return r.socks[leg].LocalAddr() }

// SetRemote sets where the peer of leg receives RTP (from its SDP). An address the leg's socket
// cannot reach (IPv6 from an IPv4 socket), unspecified (0.0.0.0, RFC 2543 hold) or without a port
// stops sending to that leg.
func (r *Relay) SetRemote(leg int, a netip.AddrPort) {
	a = netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
	if !a.Addr().IsValid() || a.Addr().IsUnspecified() || a.Port() == 0 {
		r.remote[leg].Store(&dest{addr: a})
		return
	}
	d, ok := r.socks[leg].newDest(a)
	if !ok {
		r.log.Warn("media: peer address not reachable from this socket", "leg", leg, "family_v6", a.Addr().Is6())
		d = &dest{addr: a}
	}
	r.remote[leg].Store(d)
}

// SetForward turns relaying of packets arriving on leg to the other leg on or off.
func (r *Relay) SetForward(leg int, on bool) { r.forward[leg].Store(on) }

// Send writes one packet to leg's peer (used by the player). It drops the packet when the peer's
// address is not known yet.
func (r *Relay) Send(leg int, pkt []byte) error {
	if r.closed.Load() {
		return ErrClosed
	}
	d := r.remote[leg].Load()
	if d == nil || d.len == 0 {
		return nil
	}
	return r.socks[leg].sendTo(pkt, d)
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

// Start hands both sockets to a poller. Close stops the relaying.
func (r *Relay) Start() error {
	p, err := pollerFor()
	if err != nil {
		return err
	}
	r.poller = p
	for leg := range 2 {
		if err := p.add(r, leg); err != nil {
			p.remove(r)
			return err
		}
	}
	return nil
}

// Close stops relaying and closes both sockets; once it returns, the tap is not called again.
func (r *Relay) Close() {
	if r.closed.Swap(true) {
		return
	}
	if r.poller != nil {
		r.poller.remove(r)
	}
	r.socks[0].Close()
	r.socks[1].Close()
}

// readOne reads and handles at most one datagram waiting on leg's socket; the poller calls it,
// holding its lock, when the socket is ready. It allocates nothing.
func (r *Relay) readOne(leg int, buf []byte) {
	n, src, queued, err := r.socks[leg].recvOpen(buf) // the poller's lock keeps both sockets open
	if err != nil {
		return // empty, closed, or an ICMP error reported on the socket: nothing to relay
	}
	peer := r.remote[leg].Load()
	if peer == nil || src.Addr() != peer.addr.Addr() {
		return // only the signalled peer may send media into the call
	}
	h := &r.h
	hl, err := h.Unmarshal(buf[:n])
	if err != nil || h.Version != 2 {
		return
	}
	// The packet arrived when the kernel stamped it, not when a busy poller got to it: the tap's
	// jitter and the recording's timeline must not count our own queue as the network's.
	now := r.clock.Now().Add(-queued)
	r.lastRx[leg].Store(int64(now.Sub(r.start)))
	r.packets[leg].Add(1)
	if r.forward[leg].Load() {
		if dst := r.remote[1-leg].Load(); dst != nil && dst.len != 0 {
			_ = r.socks[1-leg].sendOpen(buf[:n], dst)
		}
	}
	if r.tap != nil {
		end := n
		if h.Padding && n > hl {
			if p := int(buf[n-1]); p <= n-hl {
				end = n - p
			}
		}
		r.tap.Packet(leg, h, now, buf[hl:end])
	}
}
