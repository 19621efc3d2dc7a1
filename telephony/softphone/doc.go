// Package softphone is a minimal SIP user agent on one UDP socket, built on sipgo: it registers
// with digest authentication (RFC 3261 section 22, RFC 2617), places calls with a G.711 SDP offer,
// answers incoming calls after a configurable delay, and holds or resumes by re-INVITE
// (RFC 3264 section 8.4). It carries no media itself: MediaAddr is announced in its SDP and the
// caller moves RTP. The traffic simulator and the tests use it as the far end of the appliance.
package softphone
