package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Socket is one RTP port: a non-blocking UDP socket that the relay's poller reads itself (see
// engine.go) instead of through Go's netpoller, so a packet costs one receive and one send system
// call and no goroutine switch. Ports.Open makes them; a Relay takes two.
type Socket struct {
	local   netip.AddrPort
	v6      bool
	stamped bool // the kernel gives receive timestamps

	// mu is held for reading around every system call on fd and for writing by Close, so a closed
	// descriptor number, which the kernel may hand to the next socket, is never used.
	mu     sync.RWMutex
	fd     int
	closed bool
}

// openSocket binds a UDP socket to addr.
func openSocket(addr netip.AddrPort) (*Socket, error) {
	ip := addr.Addr().Unmap()
	family := unix.AF_INET
	if ip.Is6() {
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return nil, fmt.Errorf("media: socket: %w", err)
	}
	var sa unix.Sockaddr
	if ip.Is6() {
		sa = &unix.SockaddrInet6{Port: int(addr.Port()), Addr: ip.As16()}
	} else {
		sa = &unix.SockaddrInet4{Port: int(addr.Port()), Addr: ip.As4()}
	}
	// The kernel stamps each datagram as it reaches the socket, so a packet that waited for a busy
	// poller still carries the time it arrived (see recvOpen). Every Linux kernel has it; user-mode
	// emulators (qemu-user, in the ARM test runs) may not, and then packets are dated when read.
	stamped := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1) == nil
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, err
	}
	bound, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("media: getsockname: %w", err)
	}
	s := &Socket{fd: fd, v6: ip.Is6(), stamped: stamped}
	switch b := bound.(type) {
	case *unix.SockaddrInet4:
		s.local = netip.AddrPortFrom(netip.AddrFrom4(b.Addr), uint16(b.Port))
	case *unix.SockaddrInet6:
		s.local = netip.AddrPortFrom(netip.AddrFrom16(b.Addr), uint16(b.Port))
	}
	return s, nil
}

// LocalAddr is the address the socket is bound to.
func (s *Socket) LocalAddr() netip.AddrPort { return s.local }

// Close closes the socket; later calls do nothing.
func (s *Socket) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return unix.Close(s.fd)
}

// dest is a peer's address in the kernel's form, built once when the peer is signalled so sending
// allocates nothing.
type dest struct {
	addr netip.AddrPort
	raw  unix.RawSockaddrInet6 // or a RawSockaddrInet4 in its first bytes
	len  uint32
}

// newDest converts a to the socket family of s; ok is false when s cannot reach it (an IPv6 peer
// from an IPv4 socket).
func (s *Socket) newDest(a netip.AddrPort) (d *dest, ok bool) {
	d = &dest{addr: a}
	ip := a.Addr().Unmap()
	if s.v6 {
		r := &d.raw
		r.Family = unix.AF_INET6
		r.Port = swapPort(a.Port())
		r.Addr = ip.As16() // an IPv4 peer as ::ffff:a.b.c.d
		d.len = unix.SizeofSockaddrInet6
		return d, true
	}
	if !ip.Is4() {
		return nil, false
	}
	r := (*unix.RawSockaddrInet4)(unsafe.Pointer(&d.raw))
	r.Family = unix.AF_INET
	r.Port = swapPort(a.Port())
	r.Addr = ip.As4()
	d.len = unix.SizeofSockaddrInet4
	return d, true
}

// sendTo sends one datagram to d.
func (s *Socket) sendTo(b []byte, d *dest) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return s.sendOpen(b, d)
}

// sendOpen is sendTo for a caller that knows the socket stays open meanwhile: the poller, which
// holds its lock, under which a relay's sockets are removed before they are closed.
func (s *Socket) sendOpen(b []byte, d *dest) error {
	if len(b) == 0 {
		return nil
	}
	_, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(s.fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
		0, uintptr(unsafe.Pointer(&d.raw)), uintptr(d.len))
	if e != 0 {
		return e
	}
	return nil
}

// errNoData is a receive on an empty socket.
var errNoData = errors.New("media: no datagram waiting")

// recvOpen reads one waiting datagram into b without blocking; errNoData when none waits. queued
// is how long the datagram waited in the socket before this read, from the kernel's receive
// timestamp (SO_TIMESTAMPNS), zero when the kernel gave none. Only the poller reads, holding its
// lock, so the socket stays open meanwhile (see sendOpen).
func (s *Socket) recvOpen(b []byte) (n int, from netip.AddrPort, queued time.Duration, err error) {
	var rsa unix.RawSockaddrAny
	var ctrl [8]uint64 // one SCM_TIMESTAMPNS message, aligned for its header
	iov := unix.Iovec{Base: &b[0]}
	iov.SetLen(len(b))
	msg := unix.Msghdr{Name: (*byte)(unsafe.Pointer(&rsa)), Namelen: unix.SizeofSockaddrAny, Iov: &iov,
		Control: (*byte)(unsafe.Pointer(&ctrl[0]))}
	msg.SetIovlen(1)
	msg.SetControllen(int(unsafe.Sizeof(ctrl)))
	r, _, e := unix.Syscall(unix.SYS_RECVMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&msg)), unix.MSG_DONTWAIT)
	switch {
	case e == unix.EAGAIN || e == unix.EINTR:
		return 0, netip.AddrPort{}, 0, errNoData
	case e != 0:
		return 0, netip.AddrPort{}, 0, e // ECONNREFUSED from an ICMP error, and the like
	}
	n = int(r)
	if uint64(msg.Controllen) >= uint64(unix.CmsgLen(int(unsafe.Sizeof(unix.Timespec{})))) {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&ctrl[0]))
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS {
			ts := (*unix.Timespec)(unsafe.Add(unsafe.Pointer(&ctrl[0]), unix.CmsgLen(0)))
			// Both readings are of the wall clock and taken within the wait, so a clock step
			// between them is the only error; clamp it away.
			if q := time.Duration(time.Now().UnixNano() - ts.Nano()); q > 0 && q < maxQueued {
				queued = q
			}
		}
	}
	switch rsa.Addr.Family {
	case unix.AF_INET:
		r := (*unix.RawSockaddrInet4)(unsafe.Pointer(&rsa))
		return n, netip.AddrPortFrom(netip.AddrFrom4(r.Addr), swapPort(r.Port)), queued, nil
	case unix.AF_INET6:
		r := (*unix.RawSockaddrInet6)(unsafe.Pointer(&rsa))
		return n, netip.AddrPortFrom(netip.AddrFrom16(r.Addr).Unmap(), swapPort(r.Port)), queued, nil
	}
	return n, netip.AddrPort{}, queued, nil
}

// swapPort converts a port between host order and the network order a raw sockaddr holds it in
// (the same swap both ways; none on a big-endian CPU).
func swapPort(p uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], p)
	return binary.NativeEndian.Uint16(b[:])
}

// maxQueued bounds the wait recvOpen believes: a larger one is a wall-clock step, not a queue.
const maxQueued = 2 * time.Second
