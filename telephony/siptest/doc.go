// Package siptest holds test peers for the telephony packages: telephony/softphone wrapped with its
// own RTP peer and test cleanup, an RTP sender/receiver for byte-exact audio checks (RFC 3550
// packets of 20 ms G.711), and helpers that run the real sipp binary from scenario templates. It is
// used by tests only.
//
// A test that needs a tool fails when the tool is missing and CI=true, and skips otherwise.
package siptest
