// Package sdp parses the audio part of a remote SDP offer or answer and builds the appliance's own
// descriptions, for G.711 calls: PCMU and PCMA at 20 ms with telephone-event passed through.
//
// It implements the parts of RFC 4566 (SDP) and RFC 3264 (the offer/answer model, including the
// sendonly / recvonly / inactive direction attributes used for hold, section 8.4) that a G.711 B2BUA
// needs, with RFC 3551 static payload types and RFC 4733 telephone-event. Parsing uses
// github.com/pion/sdp/v3, after putting session-level lines back in the order RFC 4566 section 5
// requires: some devices send a session-level c= after t=, which pion rejects.
package sdp
