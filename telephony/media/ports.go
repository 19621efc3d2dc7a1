package media

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"syscall"
)

// Ports hands out UDP sockets on even ports of [Min, Max] (RFC 3550 section 11: RTP on even ports,
// RTCP on the next odd one, which we leave free).
type Ports struct {
	ip       netip.Addr
	min, max int

	mu   sync.Mutex
	next int
}

// NewPorts returns an allocator on ip for the port range [min, max].
func NewPorts(ip netip.Addr, min, max int) (*Ports, error) {
	if min <= 0 || max > 65535 || max < min+1 {
		return nil, fmt.Errorf("media: bad RTP port range %d-%d", min, max)
	}
	if min%2 == 1 {
		min++
	}
	return &Ports{ip: ip, min: min, max: max, next: min}, nil
}

// Open binds the next free even port. It tries each port of the range at most once.
func (p *Ports) Open() (*Socket, error) {
	n := (p.max-p.min)/2 + 1
	for range n {
		p.mu.Lock()
		port := p.next
		p.next += 2
		if p.next > p.max {
			p.next = p.min
		}
		p.mu.Unlock()
		c, err := openSocket(netip.AddrPortFrom(p.ip, uint16(port)))
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("media: bind %s:%d: %w", p.ip, port, err)
		}
	}
	return nil, ErrNoPorts
}
