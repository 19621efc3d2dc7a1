package media

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// The relay's poller. A goroutine per leg blocked in a read costs, for every packet, a wake-up
// through Go's netpoller, a goroutine switch and a second read that finds the socket empty. A
// poller instead waits on one epoll instance for the sockets of many calls (level-triggered), reads
// one datagram from each ready socket and relays it, so a packet costs one receive and one send
// system call and nothing else, and a busy box handles many packets per wake-up. This is how media
// relays built for load are made (rtpengine's userspace path, for one).
//
// There is one poller per CPU the Go runtime may use (GOMAXPROCS when the first relay starts);
// relays are spread over them in turn. A poller only ever reads; sends to a peer happen from the
// poller (relayed packets) and from the hold-music players.

// pollBatch is how many ready sockets one wait returns at most.
const pollBatch = 256

// pollWaitMs bounds one blocking wait, when the netpoller will not take the epoll descriptor.
const pollWaitMs = 1000

type poller struct {
	epfd int

	// mu is held while a batch is handled and while sockets are added or removed, so a relay
	// being closed is never read after Close returns.
	mu    sync.Mutex
	slots []pollSlot // by file descriptor (small integers); relay nil when free
}

type pollSlot struct {
	relay *Relay
	leg   int
}

var (
	pollersOnce sync.Once
	pollers     []*poller
	pollersErr  error
	nextPoller  atomic.Uint32
)

// pollerFor returns the poller the next relay uses, starting them on first use.
func pollerFor() (*poller, error) {
	pollersOnce.Do(func() {
		for range max(1, runtime.GOMAXPROCS(0)) {
			epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
			if err == nil {
				err = unix.SetNonblock(epfd, true)
			}
			if err != nil {
				pollersErr = fmt.Errorf("media: epoll: %w", err)
				return
			}
			rc, err := os.NewFile(uintptr(epfd), "rtp-poller").SyscallConn()
			if err != nil {
				pollersErr = fmt.Errorf("media: epoll: %w", err)
				return
			}
			p := &poller{epfd: epfd}
			pollers = append(pollers, p)
			go p.run(rc)
		}
	})
	if pollersErr != nil {
		return nil, pollersErr
	}
	return pollers[int(nextPoller.Add(1))%len(pollers)], nil
}

// add starts polling leg's socket of r.
func (p *poller) add(r *Relay, leg int) error {
	s := r.socks[leg]
	p.mu.Lock() // always the poller's lock first, then the socket's
	defer p.mu.Unlock()
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(s.fd)}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, s.fd, &ev); err != nil {
		return fmt.Errorf("media: epoll add: %w", err)
	}
	for s.fd >= len(p.slots) {
		p.slots = append(p.slots, make([]pollSlot, max(64, len(p.slots)))...)
	}
	p.slots[s.fd] = pollSlot{relay: r, leg: leg}
	return nil
}

// remove stops polling r's sockets; once it returns, the poller no longer touches them.
func (p *poller) remove(r *Relay) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range r.socks {
		s.mu.RLock()
		if !s.closed {
			if s.fd < len(p.slots) && p.slots[s.fd].relay == r {
				_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, s.fd, nil)
				p.slots[s.fd] = pollSlot{}
			}
		}
		s.mu.RUnlock()
	}
}

// run relays for as long as the process runs. The poller's epoll descriptor is itself handed to
// Go's netpoller, so a poller with nothing to do parks like any goroutine blocked on a socket (it
// holds no thread, and the rest of the appliance runs), and wakes when any of its sockets has a
// datagram. Awake, it takes batches of ready sockets without blocking until none is left. A
// socket with more waiting stays ready and comes back in the next batch, so no leg starves
// another.
func (p *poller) run(rc syscall.RawConn) {
	events := make([]unix.EpollEvent, pollBatch)
	var buf [maxPacket]byte
	drain := func(fd uintptr) bool {
		for {
			n, err := unix.EpollWait(int(fd), events, 0)
			if err != nil && !errors.Is(err, unix.EINTR) {
				return false // not expected; wait for the descriptor and try again
			}
			if n <= 0 {
				return false // nothing ready: park until something is
			}
			p.handle(events[:n], buf[:])
		}
	}
	if err := rc.Read(drain); err != nil {
		// The netpoller refused the descriptor: wait in epoll_wait itself instead.
		slog.Warn("media: RTP poller waits in epoll_wait; other work may wait for it", "err", err)
		for {
			n, err := unix.EpollWait(p.epfd, events, pollWaitMs)
			if err != nil || n <= 0 {
				continue
			}
			p.handle(events[:n], buf[:])
		}
	}
}

// handle relays one datagram from each ready socket.
func (p *poller) handle(ready []unix.EpollEvent, buf []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ev := range ready {
		if fd := int(ev.Fd); fd >= 0 && fd < len(p.slots) && p.slots[fd].relay != nil {
			p.slots[fd].relay.readOne(p.slots[fd].leg, buf)
		}
	}
}
