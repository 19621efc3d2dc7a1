package pbx

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"
)

// connTable bounds SIP over TCP and TLS, where every connection holds a goroutine and a file
// descriptor that the audio sockets and recordings also need: connections are capped per source
// address, closed after an idle time without a byte, refused from banned sources, and closed when
// their source is banned. It is shared by all stream listeners. Idle deadlines are socket
// deadlines, so they follow the wall clock, not the server's Clock.
//
// Connections from trusted sources (a trunk, a phone with a live registration) are not closed when
// idle: a phone registered over TCP is reached through its connection, and one that sends no
// keep-alives would be unreachable until it registers again.
type connTable struct {
	idle    time.Duration // <= 0: no idle timeout
	perAddr int
	banned  func(netip.Addr) bool
	trusted func(netip.Addr) bool
	log     *slog.Logger

	mu   sync.Mutex
	open map[netip.Addr]map[*streamConn]struct{}
}

func newConnTable(idle time.Duration, perAddr int, banned, trusted func(netip.Addr) bool, log *slog.Logger) *connTable {
	return &connTable{idle: idle, perAddr: perAddr, banned: banned, trusted: trusted, log: log,
		open: map[netip.Addr]map[*streamConn]struct{}{}}
}

// listen wraps ln so that what it accepts is admitted by t.
func (t *connTable) listen(ln net.Listener) net.Listener { return &streamListener{Listener: ln, t: t} }

// admit registers c, or returns nil when its source is banned or already has perAddr connections.
func (t *connTable) admit(c net.Conn) *streamConn {
	a := addrOf(c.RemoteAddr())
	if t.banned(a) {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.open[a]) >= t.perAddr {
		t.log.Debug("sip connection refused: per-address cap", "addr", a.String(), "cap", t.perAddr)
		return nil
	}
	sc := &streamConn{Conn: c, t: t, addr: a}
	if t.open[a] == nil {
		t.open[a] = map[*streamConn]struct{}{}
	}
	t.open[a][sc] = struct{}{}
	return sc
}

func (t *connTable) forget(sc *streamConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.open[sc.addr], sc)
	if len(t.open[sc.addr]) == 0 {
		delete(t.open, sc.addr)
	}
}

// closeAddr closes every connection from a (a ban).
func (t *connTable) closeAddr(a netip.Addr) {
	t.mu.Lock()
	var conns []*streamConn
	for sc := range t.open[a] {
		conns = append(conns, sc)
	}
	t.mu.Unlock()
	for _, sc := range conns {
		_ = sc.Close()
	}
}

func addrOf(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap()
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap.Addr().Unmap()
}

// streamListener admits accepted connections through its table and closes the others at once.
type streamListener struct {
	net.Listener
	t *connTable
}

func (l *streamListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if sc := l.t.admit(c); sc != nil {
			return sc, nil
		}
		_ = c.Close()
	}
}

// streamConn is an admitted connection. Each Read waits at most the idle time; an idle connection
// from an untrusted source is closed and reads as io.EOF, which the SIP stack takes as the peer
// closing it.
type streamConn struct {
	net.Conn
	t    *connTable
	addr netip.Addr
	once sync.Once
}

func (c *streamConn) Read(b []byte) (int, error) {
	for {
		if c.t.idle > 0 {
			if err := c.Conn.SetReadDeadline(time.Now().Add(c.t.idle)); err != nil {
				return 0, err
			}
		}
		n, err := c.Conn.Read(b)
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return n, err
		}
		if n > 0 {
			return n, nil
		}
		if c.t.trusted(c.addr) {
			continue // idle, but a trunk or a registered phone needs it
		}
		c.t.log.Debug("sip connection idle: closed", "addr", c.addr.String())
		_ = c.Close()
		return 0, io.EOF
	}
}

func (c *streamConn) Close() error {
	c.once.Do(func() { c.t.forget(c) })
	return c.Conn.Close()
}
