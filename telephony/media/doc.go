// Package media moves a call's audio: it hands out RTP ports from a configured range, relays RTP
// between the caller's leg and the agent's leg with G.711 passed through byte for byte (RFC 3550
// packets, RFC 4733 telephone-event packets relayed unchanged), plays greetings, announcements and hold
// music (ITU-T G.711 in 20 ms packets, RFC 3551), and notices when a leg stops sending (media timeout).
//
// The relay is the appliance's media path: one reader goroutine per leg, a fixed read buffer per
// leg and a reused rtp.Header, so relaying allocates nothing per packet. A Tap sees every packet that
// arrives (for recording and per-leg statistics) and must not block.
//
// WAV files are read as 8 kHz mono 16-bit PCM (format 1) or G.711 (formats 6 and 7, the
// Microsoft WAVE format tags for A-law and mu-law).
package media
