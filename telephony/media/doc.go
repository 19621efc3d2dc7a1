// Package media moves a call's audio: it hands out RTP ports from a configured range, relays RTP
// between the caller's leg and the agent's leg with G.711 passed through byte for byte (RFC 3550
// packets, RFC 4733 telephone-event packets relayed unchanged), plays greetings, announcements and hold
// music (ITU-T G.711 in 20 ms packets, RFC 3551), and notices when a leg stops sending (media timeout).
//
// The relay is the appliance's media path. Its sockets are not Go net.Conns: a few pollers (one
// per CPU Go uses) each wait on an epoll instance for the sockets of many calls and relay one
// datagram per ready socket, with a fixed buffer and a reused rtp.Header, so a packet costs one
// receive and one send system call, no goroutine switch and no allocation (engine.go says why). A
// Tap sees every packet that arrives (for recording and per-leg statistics), on the poller, and
// must not block. Linux only (epoll), like the appliance.
//
// WAV files are read as 8 kHz mono 16-bit PCM (format 1) or G.711 (formats 6 and 7, the
// Microsoft WAVE format tags for A-law and mu-law).
package media
