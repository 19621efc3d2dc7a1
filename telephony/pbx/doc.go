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
