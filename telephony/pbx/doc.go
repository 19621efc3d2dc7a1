// Package pbx is the appliance's SIP side: a registrar for line accounts and agents' phones with
// digest authentication, a guard against floods and password guessing, and a back-to-back user agent
// (B2BUA) that answers inbound calls, queues them with hold music (telephony/acd, telephony/media),
// rings agents by the queue's strategy and bridges the caller to the agent who answers, staying in
// the media path.
//
// Specifications: RFC 3261 (SIP: transactions, dialogs, registrar section 10, CANCEL section 9,
// re-INVITE section 14), RFC 2617 / RFC 8760 digest authentication with expiring nonces (as RFC 3261
// section 22.4 uses it), RFC 3264 offer/answer with hold by a=sendonly / a=inactive (section 8.4),
// RFC 3325 P-Asserted-Identity and RFC 3323 Privacy: id for withheld callers, RFC 5806 Diversion and
// RFC 7044 History-Info for the dialed number of forwarded calls, RFC 3581 rport.
//
// Requests are checked as RFC 3261 section 8.2 asks before any handler sees them (RFC 4475's torture
// messages exercise this): a Request-URI scheme other than sip, sips or tel gets 416, two
// Content-Length headers or a CSeq method that differs from the request's get 400, and any Require
// gets 420 with an Unsupported header, as the appliance implements no SIP extensions (no 100rel,
// no session timers).
//
// Protection of the port (guard.go, conns.go): every source address has a token bucket; an
// untrusted source that empties it, or fails authentication too often, is banned (silence, its
// pending INVITE transactions terminated so no 401 is resent, its TCP/TLS connections closed).
// Trusted sources (a trunk's addresses, the address of a live registration) have a larger bucket
// and are never banned, since a UDP source address is easily forged. TCP/TLS connections are
// capped per address and closed when idle. Responses that match no transaction are answered
// only when they belong to a dialog or an INVITE of ours, so a forged 200 reflects nothing.
//
// Inbound only: the appliance never places a call to a line or trunk. The only outbound INVITEs go to
// registered agents' contacts and to overflow URIs written in the configuration, never to anything a
// caller supplied, so the SIP port cannot be used for toll fraud.
//
// Registrations outlive the process when Config.Registrations is set (the appliance keeps them in its
// store): a REGISTER is answered after its binding is saved, an unregister deletes it, and Run
// restores the bindings before its listeners open, each for its remaining life (granted time plus
// interval, by the wall clock) but never longer than the interval granted, so a clock set back
// cannot keep a binding alive; lapsed bindings are dropped and agents with a live one are logged in.
//
// The edge implements Router (which tracking number and queue a call belongs to) and EventSink (the
// live event stream: one terminal event, refused or ended, per call attempt). Ids are UUIDv7.
//
// Not implemented yet (TODO): session timers (RFC 4028); RTCP relay (RTCP ports are left free);
// transcoding between PCMU and PCMA (the agent leg is offered the caller's law only); SRTP.
package pbx
